// HDF5 attributes as extended-attribute values (SPEC §4).
#pragma once

#include <hdf5.h>

#include <optional>
#include <string>
#include <vector>

namespace h5swmrfs::h5 {

// The xattr value of an attribute, elements in C order joined by ',' (no escaping):
//   string (fixed or variable)   its text; fixed strings read as h5py does (dtype.h) and
//                                trailing NULs dropped
//   integer, bitfield, enum      exact decimal (an enum gives its integer value)
//   float                        shortest decimal that parses back to the same value
//                                (std::to_chars; binary16 likewise), inf, -inf, nan
//   complex (h5py's r/i)         Python's complex() syntax without parentheses: 1.5-2j
//   bool                         1 / 0 (h5py bools are enums, and enums are their integers)
//   array types                  their elements, flattened into the list
//   no elements (null or empty)  ""
//   anything else (compound, opaque, arrays of those)
//                                raw bytes of every element in byte_form()'s memory layout
// Throws Error(ENOTSUP) for types byte_form() rejects.
std::string attribute_value(hid_t attr);

// Names of the attributes of a group, dataset or named datatype, in byte order.
std::vector<std::string> attribute_names(hid_t obj);

// The same in the order of `index`; nullopt when the object has no such index
// (creation order is tracked only when asked for at creation).
std::optional<std::vector<std::string>> attribute_names_in(hid_t obj, H5_index_t index);

// The value of obj's attribute `name`; Error(ENODATA) when it has none of that name.
std::string attribute_value(hid_t obj, const std::string& name);

}  // namespace h5swmrfs::h5
