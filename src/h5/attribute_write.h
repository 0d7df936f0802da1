// Changing HDF5 attributes through extended attributes (SPEC §4).
#pragma once

#include <hdf5.h>

#include <string>
#include <string_view>

namespace h5swmrfs::h5 {

// Sets attribute `name` of `obj` from xattr text `value`, by SPEC §4's rule: an attribute
// that exists with a numeric type (integer, float, bitfield, enum/bool) and whose value
// parses as the same number of comma-separated numbers that fit that type keeps its type,
// dataspace and shape; otherwise it is replaced: text (UTF-8 without NUL) by a scalar
// variable-length UTF-8 string (what h5py writes for a Python str), any other bytes by a
// scalar opaque of their length (h5py's np.void), which reads back byte for byte.
// Error(EINVAL) for an empty name or one with a NUL, and for a binary value too large for
// the object's version 1 header (HDF5 keeps an attribute there in one message under 64 KiB).
// Nothing changes when it throws.
void set_attribute(hid_t obj, const std::string& name, std::string_view value);

// Error(ENODATA) when `obj` has no attribute `name`.
void delete_attribute(hid_t obj, const std::string& name);

bool has_attribute(hid_t obj, const std::string& name);

// Copies every attribute of `from` to `to` (which has none of those names), types,
// shapes and values as they are, variable-length ones included.
void copy_attributes(hid_t from, hid_t to);

}  // namespace h5swmrfs::h5
