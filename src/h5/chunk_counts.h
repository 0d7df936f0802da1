// What the direct read path counts for a mount's metrics (src/metrics): how each look-up
// of a decoded chunk (a read's, or read-ahead's) was answered, counted in the one place
// it is (ChunkCache::get). A call is an atomic add: no lock, no allocation.
#pragma once

#include <cstddef>

namespace h5swmrfs::h5::chunk_counts {

// Found decoded in the chunk cache.
void kept() noexcept;
// Another thread was decoding it: the look-up waited for that one decoding.
void shared() noexcept;
// Decoded by this look-up (or made of the fill value): `bytes` of it.
void decoded(std::size_t bytes) noexcept;
// Its decoding failed (a damaged chunk: EIO, logged).
void failed() noexcept;

}  // namespace h5swmrfs::h5::chunk_counts
