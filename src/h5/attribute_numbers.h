// The first half of SPEC §4's rule for setting an attribute from xattr text: an attribute
// with a numeric type keeps its type, dataspace and shape when the text holds as many
// numbers of that type as it has. Used by set_attribute (attribute_write.cpp).
#pragma once

#include <hdf5.h>

#include <string>
#include <string_view>

namespace h5swmrfs::h5 {

// Rewrites the numeric attribute `attr` (called `name` in errors) in place when `value` holds
// exactly as many comma-separated numbers of its type as it has; false, and nothing written,
// otherwise (and for an attribute of any other type).
bool rewrite_numbers(hid_t attr, const std::string& name, std::string_view value);

}  // namespace h5swmrfs::h5
