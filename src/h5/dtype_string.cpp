// How a numpy dtype is written as user.h5.dtype text (see dtype_string.h): Python's repr of
// str and tuple, and numpy's descr.
#include "h5/dtype_string.h"

#include "util/text.h"

#include <algorithm>
#include <array>
#include <bit>
#include <cstdio>
#include <string_view>
#include <utility>

namespace h5swmrfs::h5 {
namespace {

constexpr char host_order = std::endian::native == std::endian::little ? '<' : '>';

// ---- Python's repr, for the text of str(dtype.descr) ----------------------------------------

// Non-ASCII code points Python's str.isprintable() rejects, except unassigned ones (those
// depend on the Python version's Unicode tables): Cc, Cf, Zs, Zl, Zp, Cs, Co.
constexpr std::array<std::pair<char32_t, char32_t>, 27> non_printable{{
    {0x80, 0xA0}, {0xAD, 0xAD}, {0x600, 0x605}, {0x61C, 0x61C}, {0x6DD, 0x6DD},
    {0x70F, 0x70F}, {0x890, 0x891}, {0x8E2, 0x8E2}, {0x1680, 0x1680}, {0x180E, 0x180E},
    {0x2000, 0x200F}, {0x2028, 0x202F}, {0x205F, 0x2064}, {0x2066, 0x206F}, {0x3000, 0x3000},
    {0xD800, 0xF8FF}, {0xFEFF, 0xFEFF}, {0xFFF9, 0xFFFB}, {0x110BD, 0x110BD},
    {0x110CD, 0x110CD}, {0x13430, 0x13438}, {0x1BCA0, 0x1BCA3}, {0x1D173, 0x1D17A},
    {0xE0001, 0xE0001}, {0xE0020, 0xE007F}, {0xF0000, 0xFFFFD}, {0x100000, 0x10FFFD},
}};

bool printable(char32_t c) {
    if (c < 0x80) return c >= 0x20 && c != 0x7F;
    return std::none_of(non_printable.begin(), non_printable.end(),
                        [c](const auto& r) { return c >= r.first && c <= r.second; });
}

std::string escape(const char* format, unsigned value) {
    char buf[16];
    int n = std::snprintf(buf, sizeof buf, format, value);
    return std::string(buf, static_cast<std::size_t>(n));
}

// The repr() Python gives a str holding this UTF-8 text. Bytes that are not UTF-8 (h5py would
// fail to decode them) are written as \xNN.
std::string python_repr(std::string_view text) {
    bool has_single = text.find('\'') != std::string_view::npos;
    bool has_double = text.find('"') != std::string_view::npos;
    char quote = has_single && !has_double ? '"' : '\'';
    std::string out(1, quote);
    for (std::size_t i = 0; i < text.size();) {
        char32_t c = 0;
        std::size_t len = util::decode_utf8(text, i, c);
        if (len == 0) {
            out += escape("\\x%02x", static_cast<unsigned char>(text[i]));
            ++i;
            continue;
        }
        if (c == static_cast<char32_t>(quote) || c == '\\') {
            out += '\\';
            out += static_cast<char>(c);
        } else if (c == '\t') {
            out += "\\t";
        } else if (c == '\n') {
            out += "\\n";
        } else if (c == '\r') {
            out += "\\r";
        } else if (printable(c)) {
            out.append(text.substr(i, len));
        } else if (c <= 0xFF) {
            out += escape("\\x%02x", static_cast<unsigned>(c));
        } else if (c <= 0xFFFF) {
            out += escape("\\u%04x", static_cast<unsigned>(c));
        } else {
            out += escape("\\U%08x", static_cast<unsigned>(c));
        }
        i += len;
    }
    out += quote;
    return out;
}

// Python's tuple repr: (3,) and (2, 3).
std::string python_tuple(const std::vector<hsize_t>& shape) {
    std::string out = "(";
    for (std::size_t i = 0; i < shape.size(); ++i) {
        if (i) out += ", ";
        out += std::to_string(shape[i]);
    }
    return out + (shape.size() == 1 ? ",)" : ")");
}

// numpy's _array_descr (what dtype.descr is made of), as Python prints it.
std::string descr(const Numpy& type) {
    switch (type.kind) {
        case Numpy::Kind::Simple: return python_repr(type.str);
        case Numpy::Kind::Subarray:
            return "(" + descr(type.children.front()) + ", " + python_tuple(type.shape) + ")";
        case Numpy::Kind::Struct: break;
    }
    std::vector<std::string> entries;
    auto pad = [&](std::size_t bytes) { entries.push_back("('', '|V" + std::to_string(bytes) + "')"); };
    std::size_t end = 0;
    for (std::size_t i = 0; i < type.children.size(); ++i) {
        const Numpy& field = type.children[i];
        if (type.offsets[i] > end) pad(type.offsets[i] - end);
        std::string name = python_repr(type.names[i]);
        if (field.kind == Numpy::Kind::Subarray)
            entries.push_back("(" + name + ", " + descr(field.children.front()) + ", " +
                              python_tuple(field.shape) + ")");
        else
            entries.push_back("(" + name + ", " + descr(field) + ")");
        end = type.offsets[i] + field.itemsize;
    }
    if (type.itemsize > end) pad(type.itemsize - end);
    std::string out = "[";
    for (std::size_t i = 0; i < entries.size(); ++i) out += (i ? ", " : "") + entries[i];
    return out + "]";
}

}  // namespace

Numpy simple_numpy(std::string str, std::size_t itemsize) {
    Numpy n;
    n.str = std::move(str);
    n.itemsize = itemsize;
    return n;
}

std::string numpy_str(char kind, std::size_t size) {
    return (size == 1 ? '|' : host_order) + std::string(1, kind) + std::to_string(size);
}

std::string type_string(const Numpy& type) {
    if (type.kind == Numpy::Kind::Simple) return type.str;
    if (type.kind == Numpy::Kind::Subarray && type.children.front().kind == Numpy::Kind::Simple)
        return python_tuple(type.shape) + type.children.front().str;
    return descr(type);
}

}  // namespace h5swmrfs::h5
