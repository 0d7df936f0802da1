// Numeric attributes rewritten in place from xattr text (see attribute_numbers.h): how the
// numbers of an attribute's type are laid out for H5Awrite, and the writing.
#include "h5/attribute_numbers.h"

#include <cmath>

#include "h5/dtype.h"
#include "h5/half.h"
#include "h5/id.h"
#include "h5/number_text.h"

#include <cstdint>
#include <cstring>
#include <optional>
#include <vector>

namespace h5swmrfs::h5 {
namespace {

template <class T>
void store(unsigned char* out, T value) {
    std::memcpy(out, &value, sizeof value);
}

// How the numbers of an attribute with a numeric type are laid out for H5Awrite.
struct Numbers {
    enum class Kind { Signed, Unsigned, Float, Bool };
    Kind kind = Kind::Signed;
    std::size_t size = 0;        // bytes of one number in `memory`
    std::size_t per_element = 1; // numbers per element (array types)
    Id memory;                   // H5Awrite from this
    Id enum_base;                // set for an enum (not bool): numbers are its base's, converted before writing
};

// The Numbers of a numeric type, or nullopt (strings, compounds, opaque, anything byte_form rejects).
std::optional<Numbers> numbers_of(hid_t file_type) {
    Numbers out;
    Id leaf = checked(H5Tcopy(file_type), "copy attribute type");
    while (H5Tget_class(leaf.get()) == H5T_ARRAY) {
        int rank = check(H5Tget_array_ndims(leaf.get()), "get array rank");
        std::vector<hsize_t> dims(static_cast<std::size_t>(rank));
        check(H5Tget_array_dims2(leaf.get(), dims.data()), "get array dimensions");
        for (hsize_t d : dims) out.per_element *= d;
        leaf = checked(H5Tget_super(leaf.get()), "get array element type");
    }
    H5T_class_t leaf_class = H5Tget_class(leaf.get());
    if (leaf_class != H5T_INTEGER && leaf_class != H5T_FLOAT && leaf_class != H5T_BITFIELD && leaf_class != H5T_ENUM)
        return std::nullopt;
    std::optional<ByteForm> whole, element;
    try {
        whole = byte_form(file_type);
        element = byte_form(leaf.get());
    } catch (const Error&) {
        return std::nullopt;  // a type we cannot show as numbers is replaced like any other
    }
    out.size = element->element_size;
    if (leaf_class == H5T_ENUM && element->numpy == "|b1") {
        out.kind = Numbers::Kind::Bool;
        out.memory = std::move(whole->memory_type);
    } else if (leaf_class == H5T_ENUM) {
        // HDF5 converts no integer to an enum: write the file type itself, holding base values.
        out.enum_base = checked(H5Tget_super(leaf.get()), "get enum base type");
        out.kind = H5Tget_sign(out.enum_base.get()) == H5T_SGN_2 ? Numbers::Kind::Signed : Numbers::Kind::Unsigned;
        out.memory = checked(H5Tcopy(file_type), "copy attribute type");
    } else if (leaf_class == H5T_FLOAT) {
        out.kind = Numbers::Kind::Float;
        out.memory = std::move(whole->memory_type);
    } else {
        out.kind = leaf_class == H5T_INTEGER && H5Tget_sign(leaf.get()) == H5T_SGN_2 ? Numbers::Kind::Signed
                                                                                   : Numbers::Kind::Unsigned;
        out.memory = std::move(whole->memory_type);
    }
    return out;
}

bool parse_number(const Numbers& numbers, std::string_view field, unsigned char* out) {
    switch (numbers.kind) {
        case Numbers::Kind::Bool: {
            auto value = parse_bool(field);
            if (value) store<std::int8_t>(out, *value ? 1 : 0);
            return value.has_value();
        }
        case Numbers::Kind::Signed: {
            auto value = parse_signed(field, numbers.size);
            if (!value) return false;
            switch (numbers.size) {
                case 1: store(out, static_cast<std::int8_t>(*value)); break;
                case 2: store(out, static_cast<std::int16_t>(*value)); break;
                case 4: store(out, static_cast<std::int32_t>(*value)); break;
                default: store(out, *value);
            }
            return true;
        }
        case Numbers::Kind::Unsigned: {
            auto value = parse_unsigned(field, numbers.size);
            if (!value) return false;
            switch (numbers.size) {
                case 1: store(out, static_cast<std::uint8_t>(*value)); break;
                case 2: store(out, static_cast<std::uint16_t>(*value)); break;
                case 4: store(out, static_cast<std::uint32_t>(*value)); break;
                default: store(out, *value);
            }
            return true;
        }
        case Numbers::Kind::Float:
            switch (numbers.size) {
                case 2: {
                    auto value = parse_float<double>(field);
                    if (!value) return false;
                    const std::uint16_t half = half_from_double(*value);
                    // Past float16's range either way (70000, 1e-9): not a float16.
                    const bool infinite = (half & 0x7fff) == 0x7c00, zero = (half & 0x7fff) == 0;
                    if ((infinite && std::isfinite(*value)) || (zero && *value != 0)) return false;
                    store(out, half);
                    return true;
                }
                case 4: {
                    auto value = parse_float<float>(field);
                    if (value) store(out, *value);
                    return value.has_value();
                }
                case 8: {
                    auto value = parse_float<double>(field);
                    if (value) store(out, *value);
                    return value.has_value();
                }
                default: {
                    auto value = parse_float<long double>(field);
                    if (value) store(out, *value);
                    return value.has_value();
                }
            }
    }
    return false;
}

hid_t native_integer(bool is_signed, std::size_t size) {
    switch (size) {
        case 1: return is_signed ? H5T_NATIVE_INT8 : H5T_NATIVE_UINT8;
        case 2: return is_signed ? H5T_NATIVE_INT16 : H5T_NATIVE_UINT16;
        case 4: return is_signed ? H5T_NATIVE_INT32 : H5T_NATIVE_UINT32;
        default: return is_signed ? H5T_NATIVE_INT64 : H5T_NATIVE_UINT64;
    }
}

}  // namespace

bool rewrite_numbers(hid_t attr, const std::string& name, std::string_view value) {
    Id file_type = checked(H5Aget_type(attr), "get type of attribute " + name);
    std::optional<Numbers> numbers = numbers_of(file_type.get());
    if (!numbers) return false;
    Id space = checked(H5Aget_space(attr), "get dataspace of attribute " + name);
    hssize_t elements = check(H5Sget_simple_extent_npoints(space.get()), "count elements of attribute " + name);
    std::vector<std::string_view> fields = fields_of(value);
    std::size_t count = static_cast<std::size_t>(elements) * numbers->per_element;
    if (fields.size() != count) return false;
    if (count == 0) return true;

    std::vector<unsigned char> buffer(count * numbers->size);
    for (std::size_t i = 0; i < count; ++i)
        if (!parse_number(*numbers, fields[i], buffer.data() + i * numbers->size)) return false;
    if (numbers->enum_base) {
        bool is_signed = numbers->kind == Numbers::Kind::Signed;
        check(H5Tconvert(native_integer(is_signed, numbers->size), numbers->enum_base.get(), count, buffer.data(),
                         nullptr, H5P_DEFAULT),
              "convert values of attribute " + name);
    }
    check(H5Awrite(attr, numbers->memory.get(), buffer.data()), "write attribute " + name);
    return true;
}

}  // namespace h5swmrfs::h5
