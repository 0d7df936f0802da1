// The text form of a dataset's extents in its user.h5.shape, user.h5.maxshape and
// user.h5.chunks xattrs (SPEC §4): "500,700"; "" for a scalar.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace h5swmrfs::h5 {

// The extents joined by ','; with `unlimited_as_inf`, H5S_UNLIMITED as "inf" (maxshape).
std::string shape_text(const std::vector<std::uint64_t>& extents, bool unlimited_as_inf = false);

// The shape a user writes to user.h5.shape: decimal extents separated by ',', white space
// around each; one trailing ',' is allowed ("5," like Python's (5,)); blank is the scalar
// shape {}. Anything else, and what HDF5 cannot store (h5::check_shape), is Error(EINVAL).
std::vector<std::uint64_t> parse_shape(const std::string& text);

}  // namespace h5swmrfs::h5
