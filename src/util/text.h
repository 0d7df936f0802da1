// Small text checks shared by the layers.
#pragma once

#include <string_view>

namespace h5swmrfs::util {

// Whether `text` is well-formed UTF-8 (no overlong forms, no surrogates, at most U+10FFFF).
bool valid_utf8(std::string_view text);

}  // namespace h5swmrfs::util
