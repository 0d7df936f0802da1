// The redo file: a published commit that whoever takes the lock next finishes if its
// writer could not (docs/LOCKING.md has the format). No HDF5 here: h5swmrfs-ctl links it
// to finish such a commit before the command it runs sees the file.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <vector>

namespace h5swmrfs::h5 {

// Where the redo file of `file` is.
std::string redo_path(const std::string& file);

// Whether a commit of `file` was published and not finished (its writer died).
bool recovery_pending(const std::string& file);

// Replays the unfinished commit of `file`, if there is one, and removes it. Needs
// the exclusive lock. True if it replayed one. Throws Error (EIO) for a redo file
// that is not whole: that is never replayed, nor removed.
bool recover(const std::string& file);

namespace redo {

// Integers are 64-bit little-endian.
constexpr std::uint64_t kHeaderSize = 16;   // magic, 0 (reserved)
constexpr std::uint64_t kRecordHead = 16;   // address, length; then the bytes
constexpr std::uint64_t kTrailerSize = 40;  // magic, record count, bytes of records, new size, 0
constexpr std::uint64_t kKeepSize = ~std::uint64_t{0};  // the trailer's "leave the size"

std::array<unsigned char, kHeaderSize> header();
std::array<unsigned char, kRecordHead> record_head(std::uint64_t address, std::uint64_t length);
std::array<unsigned char, kTrailerSize> trailer(std::uint64_t records, std::uint64_t record_bytes,
                                                std::uint64_t new_size);

// Bytes of a journal (at `source`) that belong at `address` of the file.
struct Span {
    std::uint64_t address, length, source;
};

// Copies `spans` (bytes of journal `from`) into the file `to`, sets its size, syncs it.
void apply(int from, int to, const std::vector<Span>& spans, std::uint64_t new_size, const std::string& file);

}  // namespace redo
}  // namespace h5swmrfs::h5
