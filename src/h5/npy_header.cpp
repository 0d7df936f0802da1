// .npy headers: parse_npy_header() of numpy.h, which finds the dtype, shape and start of the
// array in .npy content written into a new file (SPEC §5).
#include "h5/numpy.h"

#include "h5/bounds.h"
#include "h5/python_literal.h"
#include "util/text.h"

#include <set>
#include <string_view>

namespace h5swmrfs::h5 {
namespace {

[[noreturn]] void invalid(const std::string& message) { throw Error(EINVAL, message); }

constexpr std::string_view kNpyMagic = "\x93NUMPY";

std::string latin1_to_utf8(std::string_view text) {
    std::string out;
    out.reserve(text.size());
    for (char c : text) util::append_utf8(out, static_cast<unsigned char>(c));
    return out;
}

std::uint64_t little_endian(std::span<const std::byte> bytes) {
    std::uint64_t value = 0;
    for (std::size_t i = bytes.size(); i-- > 0;) value = (value << 8) | std::to_integer<std::uint64_t>(bytes[i]);
    return value;
}

}  // namespace

std::optional<NpyHeader> parse_npy_header(std::span<const std::byte> start) {
    auto text_of = [&](std::size_t from, std::size_t count) {
        return std::string_view(reinterpret_cast<const char*>(start.data()) + from, count);
    };
    if (start.size() < kNpyMagic.size() || text_of(0, kNpyMagic.size()) != kNpyMagic) return std::nullopt;
    if (start.size() < 8) invalid(".npy content ends inside its version");
    auto major = std::to_integer<unsigned>(start[6]), minor = std::to_integer<unsigned>(start[7]);
    if (major < 1 || major > 3 || minor != 0)
        invalid(".npy format version " + std::to_string(major) + "." + std::to_string(minor) +
                " is not supported (1.0, 2.0, 3.0 are)");
    std::size_t length_bytes = major == 1 ? 2 : 4;
    std::size_t header_start = 8 + length_bytes;
    if (start.size() < header_start) invalid(".npy content ends inside its header length");
    std::uint64_t header_length = little_endian(start.subspan(8, length_bytes));
    if (header_length > start.size() - header_start)
        invalid(".npy header of " + std::to_string(header_length) + " bytes is longer than the " +
                std::to_string(start.size() - header_start) + " bytes after its length field");

    std::string_view raw = text_of(header_start, static_cast<std::size_t>(header_length));
    std::string header;
    if (major == 3) {
        if (!util::valid_utf8(raw)) invalid(".npy 3.0 header is not UTF-8");
        header = raw;
    } else {
        header = latin1_to_utf8(raw);  // versions 1.0 and 2.0 are latin-1
    }
    Literal dict = LiteralParser(header, ".npy header").all();
    if (dict.kind != Literal::Kind::Dict) invalid(".npy header is not a dict");

    NpyHeader out;
    out.data_offset = header_start + header_length;
    std::set<std::string> seen;
    for (std::size_t i = 0; i < dict.items.size(); i += 2) {
        const Literal& key = dict.items[i];
        const Literal& value = dict.items[i + 1];
        if (key.kind != Literal::Kind::String) invalid(".npy header key " + std::string(key.source) + " is not a string");
        if (!seen.insert(key.text).second) invalid(".npy header names '" + key.text + "' twice");
        if (key.text == "descr") {
            if (value.kind == Literal::Kind::String) out.dtype = value.text;
            else if (value.kind == Literal::Kind::List) out.dtype = value.source;
            else invalid(".npy header 'descr' is neither a type string nor a list of fields");
        } else if (key.text == "fortran_order") {
            if (value.kind != Literal::Kind::Boolean) invalid(".npy header 'fortran_order' is not True or False");
            out.fortran_order = !value.negative;
        } else if (key.text == "shape") {
            if (value.kind != Literal::Kind::Tuple) invalid(".npy header 'shape' is not a tuple");
            std::uint64_t elements = 1;
            for (const Literal& extent : value.items) {
                if (!extent.is_count()) invalid(".npy header 'shape' " + std::string(value.source) + " holds something not a size");
                if (extent.magnitude && elements > (std::uint64_t{1} << 62) / extent.magnitude)
                    invalid(".npy header 'shape' " + std::string(value.source) + " is too large");
                elements *= extent.magnitude;
                out.shape.push_back(extent.magnitude);
            }
            check_shape(out.shape, ".npy header 'shape' " + std::string(value.source));
        } else {
            invalid(".npy header has an unknown key '" + key.text + "'");
        }
    }
    for (const char* key : {"descr", "fortran_order", "shape"})
        if (!seen.count(key)) invalid(std::string(".npy header lacks '") + key + "'");
    return out;
}

}  // namespace h5swmrfs::h5
