// IEEE binary16 (numpy's float16) for HDF5 files that hold it: this host has no such type.
#pragma once

#include <cstdint>

namespace h5swmrfs::h5 {

float half_to_float(std::uint16_t bits);

// The binary16 nearest to `value`, ties to even (what numpy does to a parsed double);
// infinity past the largest finite half.
std::uint16_t half_from_double(double value);

}  // namespace h5swmrfs::h5
