// Numbers in xattr text (see number_text.h).
#include "h5/number_text.h"

#include "util/text.h"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <limits>
#include <string>

namespace h5swmrfs::h5 {
namespace {

using util::trim;

// Python's int() and float() take a leading '+'; from_chars does not.
std::string_view without_plus(std::string_view field) {
    if (field.size() > 1 && field.front() == '+' && field[1] != '-' && field[1] != '+') field.remove_prefix(1);
    return field;
}

}  // namespace

std::vector<std::string_view> fields_of(std::string_view value) {
    std::vector<std::string_view> fields;
    if (trim(value).empty()) return fields;
    for (std::size_t start = 0;;) {
        std::size_t comma = value.find(',', start);
        fields.push_back(trim(value.substr(start, comma == std::string_view::npos ? std::string_view::npos : comma - start)));
        if (comma == std::string_view::npos) break;
        start = comma + 1;
    }
    return fields;
}

std::optional<std::int64_t> parse_signed(std::string_view field, std::size_t size) {
    field = without_plus(field);
    std::int64_t value = 0;
    auto [ptr, ec] = std::from_chars(field.data(), field.data() + field.size(), value);
    if (ec != std::errc() || ptr != field.data() + field.size() || field.empty()) return std::nullopt;
    if (size < 8) {
        std::int64_t limit = std::int64_t{1} << (8 * size - 1);
        if (value < -limit || value >= limit) return std::nullopt;
    }
    return value;
}

std::optional<std::uint64_t> parse_unsigned(std::string_view field, std::size_t size) {
    field = without_plus(field);
    std::uint64_t value = 0;
    auto [ptr, ec] = std::from_chars(field.data(), field.data() + field.size(), value);
    if (ec != std::errc() || ptr != field.data() + field.size() || field.empty()) return std::nullopt;
    if (size < 8 && value >> (8 * size) != 0) return std::nullopt;
    return value;
}

template <class T>
std::optional<T> parse_float(std::string_view field) {
    field = without_plus(field);
    T value{};
    auto [ptr, ec] = std::from_chars(field.data(), field.data() + field.size(), value);
    // Out of the type's range (1e39 as float32, 1e-50): no number of that type reads back as
    // the text given, so it does not parse as one (the attribute is then written as text).
    if (field.empty() || ptr != field.data() + field.size() || ec != std::errc()) return std::nullopt;
    return value;
}

std::optional<bool> parse_bool(std::string_view field) {
    std::string lower(field);
    std::transform(lower.begin(), lower.end(), lower.begin(), [](unsigned char c) { return std::tolower(c); });
    if (lower == "1" || lower == "true") return true;
    if (lower == "0" || lower == "false") return false;
    return std::nullopt;
}

template std::optional<float> parse_float<float>(std::string_view field);
template std::optional<double> parse_float<double>(std::string_view field);
template std::optional<long double> parse_float<long double>(std::string_view field);

}  // namespace h5swmrfs::h5
