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

// Whether a decimal that overflowed or underflowed its type is below 1 in magnitude.
bool tiny_decimal(std::string_view field) {
    if (!field.empty() && (field.front() == '-' || field.front() == '+')) field.remove_prefix(1);
    std::size_t e = field.find_first_of("eE");
    long long exponent = 0;
    if (e != std::string_view::npos) {
        std::string_view digits = field.substr(e + 1);
        bool negative = !digits.empty() && digits.front() == '-';
        if (!digits.empty() && (digits.front() == '-' || digits.front() == '+')) digits.remove_prefix(1);
        auto [ptr, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), exponent);
        if (ec == std::errc::result_out_of_range) return negative;
        if (negative) exponent = -exponent;
        field = field.substr(0, e);
    }
    std::size_t point = std::min(field.find('.'), field.size());
    std::size_t first = field.find_first_not_of("0.");
    if (first == std::string_view::npos) return true;
    // The decimal exponent of the leading digit.
    long long magnitude = first < point ? static_cast<long long>(point - first) - 1
                                        : -static_cast<long long>(first - point);
    return magnitude + exponent < 0;
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
    if (field.empty() || ptr != field.data() + field.size()) return std::nullopt;
    if (ec == std::errc::result_out_of_range) {
        T magnitude = tiny_decimal(field) ? T(0) : std::numeric_limits<T>::infinity();
        return field.front() == '-' ? -magnitude : magnitude;
    }
    if (ec != std::errc()) return std::nullopt;
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
