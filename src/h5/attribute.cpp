#include "h5/half.h"
#include "h5/attribute.h"
#include "h5/vlen.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <optional>
#include <string_view>

#include "h5/dtype.h"
#include "h5/id.h"

namespace h5swmrfs::h5 {
namespace {

// ---- numbers ↔ text ---------------------------------------------------------------------------

template <class T>
std::string shortest_text(T value) {
    char buf[64];
    auto result = std::to_chars(buf, buf + sizeof buf, value);
    return std::string(buf, result.ptr);
}

// The fewest significant digits that parse back (via a double, as numpy does) to this half.
std::string half_text(std::uint16_t bits) {
    float value = half_to_float(bits);
    if (!std::isfinite(value)) return shortest_text(value);
    auto names_bits = [bits](const std::string& text) {
        double parsed = 0;
        std::from_chars(text.data(), text.data() + text.size(), parsed);
        return half_from_double(parsed) == bits;
    };
    for (int digits = 1; digits <= 5; ++digits) {  // 5 significant digits tell every half apart
        char buf[64];
        auto result = std::to_chars(buf, buf + sizeof buf, value, std::chars_format::general, digits);
        std::string candidate(buf, result.ptr);
        if (!names_bits(candidate)) continue;
        // to_chars' shortest layout reads better ("1000", not "1e+03") and has no more digits.
        float as_float = 0;
        std::from_chars(candidate.data(), candidate.data() + candidate.size(), as_float);
        std::string tidy = shortest_text(as_float);
        return names_bits(tidy) ? tidy : candidate;
    }
    return shortest_text(value);
}

template <class T>
T load(const unsigned char* bytes) {
    T value;
    std::memcpy(&value, bytes, sizeof value);
    return value;
}

std::string float_text(const unsigned char* bytes, std::size_t size) {
    switch (size) {
        case 2: return half_text(load<std::uint16_t>(bytes));
        case 4: return shortest_text(load<float>(bytes));
        case 8: return shortest_text(load<double>(bytes));
        default: return shortest_text(load<long double>(bytes));  // byte_form: only native long double
    }
}

// ---- reading ----------------------------------------------------------------------------------

// How one leaf value of a byte_form() memory type becomes text; nullopt means raw bytes.
struct Leaf {
    enum class Kind { Signed, Unsigned, Float, Complex, Bool, FixedString };
    Kind kind;
    std::size_t size;       // bytes of one leaf value
    std::size_t count = 1;  // leaf values per element (array types)
};

bool is_complex(hid_t compound) {
    if (H5Tget_nmembers(compound) != 2) return false;
    Id r = checked(H5Tget_member_type(compound, 0), "get compound member type");
    Id i = checked(H5Tget_member_type(compound, 1), "get compound member type");
    // byte_form() builds complex types as {r, i} of one native float, packed.
    return H5Tget_class(r.get()) == H5T_FLOAT && H5Tget_class(i.get()) == H5T_FLOAT &&
           H5Tget_member_index(compound, "r") == 0 && H5Tget_member_index(compound, "i") == 1 &&
           H5Tget_size(compound) == 2 * H5Tget_size(r.get()) && H5Tget_member_offset(compound, 0) == 0;
}

std::optional<Leaf> text_leaf(hid_t memory_type) {
    std::size_t size = H5Tget_size(memory_type);
    switch (H5Tget_class(memory_type)) {
        case H5T_INTEGER:
            return Leaf{H5Tget_sign(memory_type) == H5T_SGN_2 ? Leaf::Kind::Signed : Leaf::Kind::Unsigned, size};
        case H5T_BITFIELD: return Leaf{Leaf::Kind::Unsigned, size};
        case H5T_ENUM: return Leaf{Leaf::Kind::Bool, size};  // byte_form() keeps enums only for bool
        case H5T_FLOAT: return Leaf{Leaf::Kind::Float, size};
        case H5T_STRING: return Leaf{Leaf::Kind::FixedString, size};
        case H5T_COMPOUND:
            if (is_complex(memory_type)) return Leaf{Leaf::Kind::Complex, size};
            return std::nullopt;
        case H5T_ARRAY: {
            int rank = check(H5Tget_array_ndims(memory_type), "get array rank");
            std::vector<hsize_t> dims(static_cast<std::size_t>(rank));
            check(H5Tget_array_dims2(memory_type, dims.data()), "get array dimensions");
            Id element = checked(H5Tget_super(memory_type), "get array element type");
            std::optional<Leaf> leaf = text_leaf(element.get());
            if (leaf) {
                for (hsize_t d : dims) leaf->count *= d;
            }
            return leaf;
        }
        default: return std::nullopt;
    }
}

std::string leaf_text(const Leaf& leaf, const unsigned char* bytes) {
    switch (leaf.kind) {
        case Leaf::Kind::Signed:
            switch (leaf.size) {
                case 1: return std::to_string(load<std::int8_t>(bytes));
                case 2: return std::to_string(load<std::int16_t>(bytes));
                case 4: return std::to_string(load<std::int32_t>(bytes));
                default: return std::to_string(load<std::int64_t>(bytes));
            }
        case Leaf::Kind::Unsigned:
            switch (leaf.size) {
                case 1: return std::to_string(load<std::uint8_t>(bytes));
                case 2: return std::to_string(load<std::uint16_t>(bytes));
                case 4: return std::to_string(load<std::uint32_t>(bytes));
                default: return std::to_string(load<std::uint64_t>(bytes));
            }
        case Leaf::Kind::Float: return float_text(bytes, leaf.size);
        case Leaf::Kind::Complex: {
            std::size_t part = leaf.size / 2;
            std::string imaginary = float_text(bytes + part, part);
            bool negative = !imaginary.empty() && imaginary.front() == '-';
            return float_text(bytes, part) + (negative ? "" : "+") + imaginary + "j";
        }
        case Leaf::Kind::Bool: return bytes[0] ? "1" : "0";  // a number, like every enum (SPEC §4)
        case Leaf::Kind::FixedString: {
            std::string_view text(reinterpret_cast<const char*>(bytes), leaf.size);
            return std::string(text.substr(0, text.find_last_not_of('\0') + 1));
        }
    }
    return {};
}

}  // namespace

std::string attribute_value(hid_t attr) {
    Id space = checked(H5Aget_space(attr), "get attribute dataspace");
    hssize_t count = check(H5Sget_simple_extent_npoints(space.get()), "count attribute elements");
    if (count == 0) return {};
    Id file_type = checked(H5Aget_type(attr), "get attribute type");
    ByteForm form = byte_form(file_type.get());
    auto elements = static_cast<std::size_t>(count);

    std::string out;
    if (form.vlen_string) {
        std::vector<char*> strings(elements, nullptr);
        const VlenReclaim reclaim(form.memory_type.get(), space.get(), strings.data());
        check(H5Aread(attr, form.memory_type.get(), strings.data()), "read attribute");
        for (std::size_t i = 0; i < elements; ++i) {
            if (i) out += ',';
            if (const char* text = strings[i]) out += text;
        }
        return out;
    }

    std::string bytes(elements * form.element_size, '\0');
    check(H5Aread(attr, form.memory_type.get(), bytes.data()), "read attribute");
    std::optional<Leaf> leaf = text_leaf(form.memory_type.get());
    if (!leaf) return bytes;
    const auto* data = reinterpret_cast<const unsigned char*>(bytes.data());
    std::size_t values = elements * leaf->count;
    for (std::size_t i = 0; i < values; ++i) {
        if (i) out += ',';
        out += leaf_text(*leaf, data + i * leaf->size);
    }
    return out;
}

std::optional<std::vector<std::string>> attribute_names_in(hid_t obj, H5_index_t index) {
    std::vector<std::string> names;
    auto collect = [](hid_t, const char* name, const H5A_info_t*, void* data) noexcept -> herr_t {
        try {
            static_cast<std::vector<std::string>*>(data)->emplace_back(name);
            return 0;
        } catch (...) {
            return -1;
        }
    };
    hsize_t position = 0;
    if (H5Aiterate2(obj, index, H5_ITER_INC, &position, collect, &names) < 0) {
        H5Eclear2(H5E_DEFAULT);
        return std::nullopt;
    }
    return names;
}

std::vector<std::string> attribute_names(hid_t obj) {
    auto names = attribute_names_in(obj, H5_INDEX_NAME);
    if (!names) fail("list attributes");
    // Dense attribute storage iterates in hash order; the contract is name order.
    std::sort(names->begin(), names->end());
    return std::move(*names);
}

std::string attribute_value(hid_t obj, const std::string& name) {
    if (name.find('\0') != std::string::npos) throw Error(ENODATA, "no attribute named " + name);
    if (check(H5Aexists(obj, name.c_str()), "look up attribute " + name) == 0)
        throw Error(ENODATA, "no attribute named " + name);
    Id attr = checked(H5Aopen(obj, name.c_str(), H5P_DEFAULT), "open attribute " + name);
    return attribute_value(attr.get());
}

}  // namespace h5swmrfs::h5
