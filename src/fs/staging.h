// Bytes written through one open file and not yet committed (SPEC §5).
//
// Only the ranges written are kept: a `dd conv=notrunc seek=` into a 10 GB
// dataset stages just its bytes. Small amounts stay in memory; past a
// threshold everything moves to an unlinked temporary file (sparse, at the
// same offsets).
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <span>
#include <string>
#include <vector>

#include "util/fd.h"

namespace h5swmrfs::fs {

class Staging {
public:
    // `size`: the dataset's size when opened; `replaces`: opened with O_TRUNC (the old
    // content goes). Spilled bytes go to a temporary file in `spill_directory`, else /tmp.
    Staging(std::uint64_t size, bool replaces, std::string spill_directory);
    Staging(const Staging&) = delete;
    Staging& operator=(const Staging&) = delete;

    // The size the dataset will have once committed, as this open sees it.
    std::uint64_t size() const { return size_; }
    // The dataset's size when opened.
    std::uint64_t base_size() const { return base_size_; }
    // Whether this open set the size itself (truncate, O_TRUNC) rather than only writing.
    bool size_was_set() const { return size_was_set_; }
    // One past the last byte written; 0 when nothing was written.
    std::uint64_t written_end() const { return ranges_.empty() ? 0 : std::prev(ranges_.end())->second; }
    // Bytes staged in all (what a commit writes).
    std::uint64_t written_bytes() const;
    // A write that failed (a full staging disk, say) makes the content unknown: nothing of
    // this open may be committed; flush and fsync fail with that error.
    void fail(int err) { failed_ = err; }
    int failed() const { return failed_; }
    // True when the commit replaces the whole content (holes read as zeros), false when it
    // patches the written ranges into the old content.
    bool replaces() const { return replaces_; }
    // Anything to commit: bytes written or the size changed.
    bool dirty() const { return dirty_; }

    void write(std::uint64_t offset, std::span<const std::byte> data);
    void truncate(std::uint64_t size);
    // Before anything is staged: as if constructed with `replaces` (O_TRUNC known only
    // after the open, open_truncations.h).
    void replace_from_start();

    // The written ranges as start → end, ascending, disjoint and not touching.
    const std::map<std::uint64_t, std::uint64_t>& ranges() const { return ranges_; }
    // Copies staged bytes at [offset, offset + out.size()), which lie within one range.
    void read(std::uint64_t offset, std::span<std::byte> out) const;
    // Fills `out` (bytes [offset, ...) of the new content) with whatever is staged there,
    // leaving other bytes as they are.
    void overlay(std::uint64_t offset, std::span<std::byte> out) const;

    // After a commit, successful or not: nothing is left to commit.
    void clear();

private:
    void spill();

    std::uint64_t size_;
    std::uint64_t base_size_;
    bool size_was_set_;
    int failed_ = 0;
    bool replaces_;
    bool dirty_ = false;
    std::string spill_directory_;
    std::map<std::uint64_t, std::uint64_t> ranges_;
    std::map<std::uint64_t, std::vector<std::byte>> memory_;  // start → bytes, same keys as ranges_
    std::uint64_t memory_bytes_ = 0;
    util::Fd fd_;  // the temporary file, once spilled
};

}  // namespace h5swmrfs::fs
