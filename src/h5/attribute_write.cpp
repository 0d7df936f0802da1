#include "h5/half.h"
#include "h5/attribute_write.h"

#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cctype>
#include <charconv>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <optional>
#include <vector>

#include "h5/attribute.h"
#include "h5/bounds.h"
#include "h5/dtype.h"
#include "h5/id.h"
#include "util/text.h"

namespace h5swmrfs::h5 {
namespace {

using util::trim;


// ---- text → numbers ---------------------------------------------------------------------------

// The comma-separated fields of `value`, trimmed; none for empty or blank text.
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

// Python's int() and float() take a leading '+'; from_chars does not.
std::string_view without_plus(std::string_view field) {
    if (field.size() > 1 && field.front() == '+' && field[1] != '-' && field[1] != '+') field.remove_prefix(1);
    return field;
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

// Any decimal, inf, infinity or nan, as Python's float() reads it; out of range → ±inf or ±0.
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

template <class T>
void store(unsigned char* out, T value) {
    std::memcpy(out, &value, sizeof value);
}

// ---- numeric attributes -----------------------------------------------------------------------

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
                    if (value) store(out, half_from_double(*value));
                    return value.has_value();
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

// Rewrites a numeric attribute in place when `value` holds exactly as many numbers of its type
// as it has; false (and nothing written) otherwise.
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

// ---- values that keep no numeric type ---------------------------------------------------------

// How such a value is stored. Text (UTF-8 without NUL) becomes h5py's str, a scalar
// variable-length UTF-8 string. Any other bytes become a scalar opaque of their length
// (h5py's np.void): HDF5 hands those back byte for byte, where a C string ends at the first
// NUL and a fixed-length NULLPAD string drops trailing ones.
struct Stored {
    Id type;
    std::string bytes;  // NUL-terminated by std::string for the string case
    bool text = true;
};

Stored stored_form(std::string_view value) {
    Stored out;
    out.bytes = value;
    out.text = value.find('\0') == std::string_view::npos && util::valid_utf8(value);
    if (!out.text) {
        // Never of size 0: the empty value is text.
        out.type = checked(H5Tcreate(H5T_OPAQUE, value.size()), "create opaque type");
        return out;
    }
    out.type = checked(H5Tcopy(H5T_C_S1), "create string type");
    check(H5Tset_size(out.type.get(), H5T_VARIABLE), "create string type");
    check(H5Tset_cset(out.type.get(), H5T_CSET_UTF8), "create string type");
    return out;
}

void write_stored(hid_t attr, const Stored& stored, const std::string& name) {
    const char* pointer = stored.bytes.c_str();
    const void* data = stored.text ? static_cast<const void*>(&pointer) : static_cast<const void*>(stored.bytes.data());
    check(H5Awrite(attr, stored.type.get(), data), "write attribute " + name);
}

// A version 1 object header keeps each attribute whole in one message of less than 64 KiB
// (version 2 headers move a larger one to dense storage). Its size, by the HDF5 file format:
// a header of 8 bytes (9 with a UTF-8 name), the name with its NUL padded to 8, the opaque
// type and the scalar dataspace at most 8 each, then the value. What does not fit is the
// user's error (EINVAL), where HDF5 would only fail with "object header message is too large".
void check_fits(hid_t obj, std::size_t longest_name, const Stored& stored, const std::string& name) {
    if (stored.text) return;  // the header holds only a reference to a string's bytes
    H5O_info_t info;
    check(H5Oget_info2(obj, &info, H5O_INFO_HDR), "read the object header of attribute " + name);
    if (info.hdr.version != 1) return;
    const std::size_t overhead = 9 + (longest_name + 1 + 7) / 8 * 8 + 8 + 8;
    const std::size_t room = kLargestHeaderMessage - overhead;
    if (stored.bytes.size() > room)
        throw Error(EINVAL, "attribute " + name + ": a binary value of " + std::to_string(stored.bytes.size()) +
                                " bytes does not fit in this object's HDF5 header, which holds at most " +
                                std::to_string(room) + " (text values have no such limit)");
}

Id attribute_create_plist(const std::string& name) {
    Id acpl = checked(H5Pcreate(H5P_ATTRIBUTE_CREATE), "create attribute property list");
    bool ascii = std::all_of(name.begin(), name.end(), [](char c) { return static_cast<unsigned char>(c) < 0x80; });
    if (!ascii && util::valid_utf8(name)) check(H5Pset_char_encoding(acpl.get(), H5T_CSET_UTF8), "set attribute name encoding");
    return acpl;
}

// A name no attribute of `obj` has, for staging a replacement.
std::string unused_name(hid_t obj) {
    static std::atomic<unsigned> counter{0};
    for (;;) {
        std::string name = ".h5swmrfs-attribute-" + std::to_string(::getpid()) + "-" + std::to_string(counter++);
        if (check(H5Aexists(obj, name.c_str()), "look up attribute " + name) == 0) return name;
    }
}

void create_stored(hid_t obj, const std::string& name, const std::string& created_as, const Stored& stored) {
    Id space = checked(H5Screate(H5S_SCALAR), "create scalar dataspace");
    Id acpl = attribute_create_plist(name);
    Id attr = checked(H5Acreate2(obj, created_as.c_str(), stored.type.get(), space.get(), acpl.get(), H5P_DEFAULT),
                      "create attribute " + name);
    try {
        write_stored(attr.get(), stored, name);
    } catch (...) {
        attr.reset();
        H5Adelete(obj, created_as.c_str());
        throw;
    }
}

void check_name(const std::string& name) {
    if (name.empty()) throw Error(EINVAL, "an attribute needs a name");
    if (name.find('\0') != std::string::npos) throw Error(EINVAL, "attribute name holds a NUL");
}

// Frees what H5Aread allocated for variable-length data, even when the write after it throws.
class VlenReclaim {
public:
    VlenReclaim(hid_t type, hid_t space, void* buffer) : type_(type), space_(space), buffer_(buffer) {}
    VlenReclaim(const VlenReclaim&) = delete;
    VlenReclaim& operator=(const VlenReclaim&) = delete;
    ~VlenReclaim() {
        if (H5Dvlen_reclaim(type_, space_, H5P_DEFAULT, buffer_) < 0) H5Eclear2(H5E_DEFAULT);
    }

private:
    hid_t type_;
    hid_t space_;
    void* buffer_;
};

void copy_attribute(hid_t from, hid_t to, const std::string& name) {
    Id source = checked(H5Aopen(from, name.c_str(), H5P_DEFAULT), "open attribute " + name);
    // H5Aget_type gives the type in its memory form (variable-length data as pointers).
    Id type = checked(H5Aget_type(source.get()), "get type of attribute " + name);
    Id space = checked(H5Aget_space(source.get()), "get dataspace of attribute " + name);
    Id acpl = checked(H5Aget_create_plist(source.get()), "get creation properties of attribute " + name);
    hssize_t elements = check(H5Sget_simple_extent_npoints(space.get()), "count elements of attribute " + name);
    Id target(H5Acreate2(to, name.c_str(), type.get(), space.get(), acpl.get(), H5P_DEFAULT));
    if (!target && H5Tcommitted(type.get()) > 0) {
        // A named datatype of another file: the copy gets the type itself.
        H5Eclear2(H5E_DEFAULT);
        Id transient = checked(H5Tcopy(type.get()), "copy type of attribute " + name);
        target = Id(H5Acreate2(to, name.c_str(), transient.get(), space.get(), acpl.get(), H5P_DEFAULT));
    }
    if (!target) fail("create attribute " + name);
    try {
        if (elements > 0) {
            std::vector<std::byte> buffer(static_cast<std::size_t>(elements) * type_size(type.get()));
            check(H5Aread(source.get(), type.get(), buffer.data()), "read attribute " + name);
            VlenReclaim reclaim(type.get(), space.get(), buffer.data());
            check(H5Awrite(target.get(), type.get(), buffer.data()), "write attribute " + name);
        }
    } catch (...) {
        target.reset();
        H5Adelete(to, name.c_str());
        throw;
    }
}

}  // namespace

void set_attribute(hid_t obj, const std::string& name, std::string_view value) {
    check_name(name);
    bool exists = check(H5Aexists(obj, name.c_str()), "look up attribute " + name) > 0;
    if (exists) {
        Id attr = checked(H5Aopen(obj, name.c_str(), H5P_DEFAULT), "open attribute " + name);
        if (rewrite_numbers(attr.get(), name, value)) return;
    }
    Stored stored = stored_form(value);
    if (!exists) {
        check_fits(obj, name.size(), stored, name);
        create_stored(obj, name, name, stored);
        return;
    }
    // HDF5 cannot change an attribute's type: write the new one beside it, then swap names
    // (h5py does the same), so a failed write leaves the old value.
    std::string staged = unused_name(obj);
    check_fits(obj, std::max(name.size(), staged.size()), stored, name);
    create_stored(obj, name, staged, stored);
    if (H5Adelete(obj, name.c_str()) < 0) {
        H5Adelete(obj, staged.c_str());
        fail("delete attribute " + name);
    }
    check(H5Arename(obj, staged.c_str(), name.c_str()), "rename new attribute to " + name);
}

void delete_attribute(hid_t obj, const std::string& name) {
    if (!has_attribute(obj, name)) throw Error(ENODATA, "no attribute named " + name);
    check(H5Adelete(obj, name.c_str()), "delete attribute " + name);
}

bool has_attribute(hid_t obj, const std::string& name) {
    if (name.empty() || name.find('\0') != std::string::npos) return false;
    return check(H5Aexists(obj, name.c_str()), "look up attribute " + name) > 0;
}

void copy_attributes(hid_t from, hid_t to) {
    // Creation order where the object tracks it (so the copy lists them alike), else name order.
    auto names = attribute_names_in(from, H5_INDEX_CRT_ORDER);
    for (const std::string& name : names ? *names : attribute_names(from)) copy_attribute(from, to, name);
}

}  // namespace h5swmrfs::h5
