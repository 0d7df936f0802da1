// Small text checks shared by the layers.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

namespace h5swmrfs::util {

// Decodes the UTF-8 sequence at text[at] into `out`; returns its length, 0 when the bytes
// there are not well-formed UTF-8 (overlong forms, surrogates, past U+10FFFF).
std::size_t decode_utf8(std::string_view text, std::size_t at, char32_t& out);

// Whether `text` is well-formed UTF-8 throughout.
bool valid_utf8(std::string_view text);

// Appends code point `c` (at most U+10FFFF) to `out` as UTF-8.
void append_utf8(std::string& out, char32_t c);

// Space, \t, \n, \r, \f or \v: what C's isspace() accepts in the "C" locale.
constexpr bool is_ascii_space(char c) {
    return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v';
}

// `text` without the ASCII white space at its ends.
std::string_view trim(std::string_view text);

// `text` as one word of a FUSE "-o" option string: commas and backslashes escaped with a
// backslash, as libfuse's fuse_opt_add_opt_escaped does.
std::string escape_fuse_option(std::string_view text);

}  // namespace h5swmrfs::util
