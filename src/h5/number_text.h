// Numbers in xattr text, read as Python's int(), float() and h5py's bool would read them:
// what SPEC §4 accepts when an attribute with a numeric type keeps its type. Pure text
// handling, no HDF5; used by attribute_numbers.cpp.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string_view>
#include <vector>

namespace h5swmrfs::h5 {

// The comma-separated fields of `value`, trimmed; none for empty or blank text.
std::vector<std::string_view> fields_of(std::string_view value);

// A decimal integer that fits a two's complement (parse_signed) or unsigned (parse_unsigned)
// integer of `size` bytes (1, 2, 4 or 8); nullopt for anything else.
std::optional<std::int64_t> parse_signed(std::string_view field, std::size_t size);
std::optional<std::uint64_t> parse_unsigned(std::string_view field, std::size_t size);

// Any decimal, inf, infinity or nan, as Python's float() reads it; none out of T's range
// (1e999, 1e-999 as float): no T reads back as such text.
// T is float, double or long double.
template <class T>
std::optional<T> parse_float(std::string_view field);

// 1, 0, true or false in any case.
std::optional<bool> parse_bool(std::string_view field);

}  // namespace h5swmrfs::h5
