// Small text checks shared by the layers.
#pragma once

#include <cstddef>
#include <string_view>

namespace h5swmrfs::util {

// Decodes the UTF-8 sequence at text[at] into `out`; returns its length, 0 when the bytes
// there are not well-formed UTF-8 (overlong forms, surrogates, past U+10FFFF).
std::size_t decode_utf8(std::string_view text, std::size_t at, char32_t& out);

// Whether `text` is well-formed UTF-8 throughout.
bool valid_utf8(std::string_view text);

// `text` without the ASCII white space at its ends.
std::string_view trim(std::string_view text);

}  // namespace h5swmrfs::util
