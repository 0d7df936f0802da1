// Whether the disk holding the file has room for a change.
#pragma once

#include <cstdint>
#include <string>

namespace h5swmrfs::fs {

// ENOSPC unless the disk holding `file` has `needed` bytes free, and a margin for
// HDF5's own metadata. Every change checks it before it begins: HDF5 cannot be
// trusted to leave a file whole when a write fails halfway for want of space.
void check_space(const std::string& file, std::uint64_t needed);

}  // namespace h5swmrfs::fs
