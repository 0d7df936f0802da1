// Buffers used over and over (decoded chunks, a few sizes): kept after use up to a byte
// budget and handed out again, so that a long read reuses its memory rather than ask the
// kernel for fresh pages (zeroed and mapped one page fault at a time) for every chunk.
#pragma once

#include <cstddef>
#include <memory>
#include <mutex>
#include <vector>

#include "util/bytes.h"

namespace h5swmrfs::util {

class BufferPool : public std::enable_shared_from_this<BufferPool> {
public:
    // Made shared: what share() hands out comes back here, whenever its last owner lets go.
    static std::shared_ptr<BufferPool> create(std::size_t budget_bytes);

    // A buffer of `size` bytes, contents undefined: the smallest kept one that holds it
    // (and not much more), else a new one (with room up to the next 64 KiB).
    Bytes take(std::size_t size);
    // Keeps `buffer` for a later take(), freeing the oldest kept ones to stay within the
    // budget; frees it instead when it is small, or larger than the whole budget.
    void give(Bytes buffer) noexcept;
    // `buffer`, shared: given back to this pool when its last owner lets go.
    std::shared_ptr<const Bytes> share(Bytes buffer);

    std::size_t kept_bytes() const;
    static constexpr std::size_t kSmallest = std::size_t{64} << 10;  // smaller ones are not kept
    static constexpr std::size_t kMostKept = 128;                     // buffers

private:
    explicit BufferPool(std::size_t budget_bytes) : budget_(budget_bytes) {}

    const std::size_t budget_;
    mutable std::mutex mutex_;
    std::vector<Bytes> kept_;     // oldest first
    std::size_t kept_bytes_ = 0;  // their capacities
};

}  // namespace h5swmrfs::util
