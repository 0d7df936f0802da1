// What HDF5 refuses to store, checked before it is asked: input a user can get wrong is
// EINVAL with a reason (SPEC §5), not the EIO of a library call that failed.
#pragma once

#include <hdf5.h>

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

namespace h5swmrfs::h5 {

// HDF5 keeps each message of an object header (a datatype, an attribute, ...) in less than
// 64 KiB, alignment included; a larger one fails with "object header message is too large".
constexpr std::size_t kLargestHeaderMessage = 65535;

// Error(EINVAL, what + the reason) for more than H5S_MAX_RANK (32) dimensions or an extent of
// 2^63 or more: HDF5 caches each extent's next power of two in 64 bits and takes 2^64-1 for
// "unlimited", so it refuses those. Extents of 0 are fine; so is the scalar shape {}.
void check_shape(const std::vector<std::uint64_t>& shape, const std::string& what);

// Error(EINVAL, what + the reason) when a dataset's header cannot hold the description of
// `type` (a compound of thousands of fields, say).
void check_type_fits_header(hid_t type, const std::string& what);

}  // namespace h5swmrfs::h5
