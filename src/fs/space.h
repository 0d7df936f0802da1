// Whether the disk holding the file has room for a change.
#pragma once

#include <cstdint>
#include <string>

namespace h5swmrfs::fs {

// ENOSPC unless the disk holding `file` has `needed` bytes free, and a margin for
// HDF5's own metadata. Every change checks it before it begins: HDF5 cannot be
// trusted to leave a file whole when a write fails halfway for want of space.
void check_space(const std::string& file, std::uint64_t needed);

// Bytes free on the disk that holds `file` (a huge number when that cannot be told).
std::uint64_t free_bytes(const std::string& file);

// EFBIG when dataset `what` would grow from `current` bytes to `size`, more than `current`
// plus `free` (the free bytes of the disk holding the file): a sparse terabyte is a
// mistake (`truncate -s 1T`, like `dd seek=1T`), and HDF5 visits every chunk position of
// such an extent when it shrinks it again, for hours, holding the lock.
void check_growth(const std::string& what, std::uint64_t current, std::uint64_t size, std::uint64_t free);

}  // namespace h5swmrfs::fs
