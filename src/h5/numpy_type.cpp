// NumPy type strings → HDF5 types: numpy_type() of numpy.h, what `setfattr -n user.h5.dtype`
// and a .npy header's 'descr' are turned into.
#include "h5/numpy.h"

#include "h5/h5py_types.h"
#include "h5/python_literal.h"
#include "util/text.h"

#include <charconv>
#include <limits>
#include <optional>
#include <set>
#include <string_view>
#include <utility>

namespace h5swmrfs::h5 {
namespace {

// HDF5 keeps an element's size in 32 bits in a dataset's layout message.
constexpr std::uint64_t kMaxTypeSize = std::numeric_limits<std::uint32_t>::max();

using util::trim;

// A type string as error messages show it: a compound of thousands of fields only by its start,
// so that the log line stays readable.
std::string shown_type(const std::string& dtype) {
    constexpr std::size_t kShown = 100;
    if (dtype.size() <= kShown + 20) return "NumPy type '" + dtype + "'";
    return "NumPy type '" + dtype.substr(0, kShown) + "...' (" + std::to_string(dtype.size()) + " bytes)";
}

class TypeParser {
public:
    explicit TypeParser(std::string whole) : whole_(std::move(whole)) {}

    Id parse(std::string_view text) {
        text = trim(text);
        if (text.empty()) error("empty type");
        // A list, or a type string still in its quotes as copied from Python.
        if (text.front() == '[' || text.front() == '\'' || text.front() == '"') return from_literal(literal(text).all());
        if (text.front() == '(') {
            LiteralParser parser = literal(text);
            Literal first = parser.value();
            std::string_view rest = trim(parser.rest());
            if (rest.empty()) return from_literal(first);
            // numpy's subarray string: "(2, 3)<f8".
            return array(parse(rest), dims_of(first));
        }
        return scalar(text);
    }

private:
    [[noreturn]] void error(const std::string& what) const {
        throw Error(EINVAL, shown_type(whole_) + ": " + what);
    }

    LiteralParser literal(std::string_view text) const { return LiteralParser(text, shown_type(whole_)); }

    Id from_literal(const Literal& value) {
        switch (value.kind) {
            case Literal::Kind::String: return parse(value.text);
            case Literal::Kind::List: return compound(value);
            case Literal::Kind::Tuple:
                // numpy's (base, shape) form, e.g. ([('a', '<i4')], (3,)).
                if (value.items.size() == 2) return array(from_literal(value.items[0]), dims_of(value.items[1]));
                error("a tuple type is (type, shape)");
            default: error("expected a type string, a list of fields or (type, shape)");
        }
    }

    std::vector<hsize_t> dims_of(const Literal& shape) const {
        if (shape.is_count()) return {static_cast<hsize_t>(shape.magnitude)};
        if (shape.kind != Literal::Kind::Tuple) error("a shape is a tuple of sizes, not " + std::string(shape.source));
        std::vector<hsize_t> dims;
        for (const Literal& extent : shape.items) {
            if (!extent.is_count()) error("shape " + std::string(shape.source) + " holds something not a size");
            dims.push_back(static_cast<hsize_t>(extent.magnitude));
        }
        return dims;
    }

    Id array(Id element, std::vector<hsize_t> dims) const {
        if (dims.empty()) return element;
        if (dims.size() > H5S_MAX_RANK) error("arrays have at most " + std::to_string(H5S_MAX_RANK) + " dimensions");
        std::uint64_t size = type_size(element.get());
        for (hsize_t d : dims) {
            if (d == 0) error("zero-size array");
            if (size > kMaxTypeSize / d) error("element larger than HDF5 allows");
            size *= d;
        }
        // numpy merges nested subarrays into one shape; so do we.
        if (H5Tget_class(element.get()) == H5T_ARRAY) {
            int rank = check(H5Tget_array_ndims(element.get()), "get array rank");
            std::vector<hsize_t> inner(static_cast<std::size_t>(rank));
            check(H5Tget_array_dims2(element.get(), inner.data()), "get array dimensions");
            dims.insert(dims.end(), inner.begin(), inner.end());
            if (dims.size() > H5S_MAX_RANK) error("arrays have at most " + std::to_string(H5S_MAX_RANK) + " dimensions");
            element = checked(H5Tget_super(element.get()), "get array element type");
        }
        return checked(H5Tarray_create2(element.get(), static_cast<unsigned>(dims.size()), dims.data()),
                       "create array type", EINVAL);
    }

    static bool is_padding(const Literal& name, const Literal& type) {
        if (name.kind != Literal::Kind::String || !name.text.empty() || type.kind != Literal::Kind::String) return false;
        std::string_view t = trim(type.text);
        if (!t.empty() && (t.front() == '|' || t.front() == '<' || t.front() == '>' || t.front() == '=')) t.remove_prefix(1);
        return t.size() > 1 && t.front() == 'V' &&
               t.substr(1).find_first_not_of("0123456789") == std::string_view::npos;
    }

    // A list of (name, type[, shape]) in str(dtype.descr) form: fields packed in order,
    // ('', '|V<n>') entries are gaps.
    Id compound(const Literal& fields) {
        struct Field {
            std::string name;
            std::size_t offset;
            Id type;
        };
        std::vector<Field> members;
        std::set<std::string> names;
        std::uint64_t offset = 0;
        for (std::size_t i = 0; i < fields.items.size(); ++i) {
            const Literal& entry = fields.items[i];
            if (entry.kind != Literal::Kind::Tuple || entry.items.size() < 2 || entry.items.size() > 3)
                error("a field is (name, type) or (name, type, shape), not " + std::string(entry.source));
            const Literal* name = &entry.items[0];
            // numpy writes a titled field as ((title, name), type).
            if (name->kind == Literal::Kind::Tuple && name->items.size() == 2) name = &name->items[1];
            if (name->kind != Literal::Kind::String) error("field name " + std::string(name->source) + " is not a string");
            Id type = entry.items.size() == 3 ? array(from_literal(entry.items[1]), dims_of(entry.items[2]))
                                              : from_literal(entry.items[1]);
            std::uint64_t size = type_size(type.get());
            if (offset + size > kMaxTypeSize) error("compound larger than HDF5 allows");
            if (entry.items.size() == 2 && is_padding(*name, entry.items[1])) {
                offset += size;
                continue;
            }
            if (name->text.find('\0') != std::string::npos) error("field name holds a NUL");
            std::string field_name = name->text.empty() ? "f" + std::to_string(i) : name->text;  // numpy's rule
            if (!names.insert(field_name).second) error("field name '" + field_name + "' appears twice");
            members.push_back({std::move(field_name), static_cast<std::size_t>(offset), std::move(type)});
            offset += size;
        }
        if (members.empty()) error("compound without fields");
        Id type = checked(H5Tcreate(H5T_COMPOUND, static_cast<std::size_t>(offset)), "create compound type");
        for (const Field& m : members)
            check(H5Tinsert(type.get(), m.name.c_str(), m.offset, m.type.get()), "add compound field " + m.name);
        return type;
    }

    struct Code {
        char kind;
        std::size_t size;
    };

    // numpy's names and one-letter codes for the types a user would type.
    static std::optional<Code> named(std::string_view name) {
        static const std::pair<std::string_view, Code> names[] = {
            {"bool", {'b', 1}}, {"bool_", {'b', 1}}, {"bool8", {'b', 1}}, {"?", {'b', 1}},
            {"int8", {'i', 1}}, {"int16", {'i', 2}}, {"int32", {'i', 4}}, {"int64", {'i', 8}},
            {"uint8", {'u', 1}}, {"uint16", {'u', 2}}, {"uint32", {'u', 4}}, {"uint64", {'u', 8}},
            {"byte", {'i', 1}}, {"ubyte", {'u', 1}}, {"short", {'i', sizeof(short)}},
            {"ushort", {'u', sizeof(short)}}, {"intc", {'i', sizeof(int)}}, {"uintc", {'u', sizeof(int)}},
            {"int", {'i', sizeof(long)}}, {"int_", {'i', sizeof(long)}}, {"uint", {'u', sizeof(long)}},
            {"intp", {'i', sizeof(void*)}}, {"uintp", {'u', sizeof(void*)}},
            {"longlong", {'i', sizeof(long long)}}, {"ulonglong", {'u', sizeof(long long)}},
            {"float16", {'f', 2}}, {"float32", {'f', 4}}, {"float64", {'f', 8}},
            {"half", {'f', 2}}, {"single", {'f', 4}}, {"double", {'f', 8}}, {"float", {'f', 8}},
            {"float_", {'f', 8}}, {"longdouble", {'f', kLongDoubleSize}}, {"longfloat", {'f', kLongDoubleSize}},
            {"complex64", {'c', 8}}, {"complex128", {'c', 16}}, {"csingle", {'c', 8}},
            {"cdouble", {'c', 16}}, {"complex", {'c', 16}}, {"complex_", {'c', 16}}, {"cfloat", {'c', 16}},
            {"clongdouble", {'c', 2 * kLongDoubleSize}},
            {"b", {'i', 1}}, {"B", {'u', 1}}, {"h", {'i', sizeof(short)}}, {"H", {'u', sizeof(short)}},
            {"i", {'i', sizeof(int)}}, {"I", {'u', sizeof(int)}}, {"l", {'i', sizeof(long)}},
            {"L", {'u', sizeof(long)}}, {"q", {'i', sizeof(long long)}}, {"Q", {'u', sizeof(long long)}},
            {"p", {'i', sizeof(void*)}}, {"P", {'u', sizeof(void*)}}, {"e", {'f', 2}}, {"f", {'f', 4}},
            {"d", {'f', 8}}, {"g", {'f', kLongDoubleSize}}, {"F", {'c', 8}}, {"D", {'c', 16}},
            {"G", {'c', 2 * kLongDoubleSize}},
        };
        for (const auto& [n, code] : names)
            if (n == name) return code;
        if (kLongDoubleSize && name == "float" + std::to_string(8 * kLongDoubleSize))
            return Code{'f', kLongDoubleSize};
        if (kLongDoubleSize && name == "complex" + std::to_string(16 * kLongDoubleSize))
            return Code{'c', 2 * kLongDoubleSize};
        return std::nullopt;
    }

    // dtype.str and its relatives: an optional byte order, then a name, a one-letter code, or a
    // kind letter and a size ('<f8', '|S16', 'float32', 'f', '<M8[ns]').
    Id scalar(std::string_view text) {
        Order order = kHostOrder;
        char order_char = '=';
        if (text.front() == '<' || text.front() == '>' || text.front() == '|' || text.front() == '=') {
            order_char = text.front();
            if (order_char == '<') order = Order::Little;
            if (order_char == '>') order = Order::Big;
            text.remove_prefix(1);
        }
        if (text.empty()) error("byte order without a type");
        std::optional<Code> code = named(text);
        std::string unit;
        if (!code) code = sized(text, unit);
        if (code->size == 0) error("zero-size type");
        switch (code->kind) {
            case 'b':
                if (code->size != 1) error("numpy's bool has 1 byte");
                return bool_type();
            case 'i': case 'u':
                if (code->size != 1 && code->size != 2 && code->size != 4 && code->size != 8)
                    error("no " + std::to_string(code->size) + "-byte integer (numpy has 1, 2, 4, 8)");
                return integer_type(code->kind == 'i', code->size, order);
            case 'f':
                if (code->size != 2 && code->size != 4 && code->size != 8 && code->size != kLongDoubleSize)
                    error("no " + std::to_string(code->size) + "-byte float on this host");
                return float_type(code->size, order);
            case 'c':
                if (code->size != 8 && code->size != 16 && code->size != 2 * kLongDoubleSize)
                    error("no " + std::to_string(code->size) + "-byte complex on this host");
                return complex_type(code->size, order);
            case 'S': case 'a':
                if (code->size > kMaxTypeSize) error("string longer than HDF5 allows");
                return string_type(code->size);
            case 'V':
                if (code->size > kMaxTypeSize) error("element larger than HDF5 allows");
                return opaque_type(code->size, "");
            case 'M': case 'm': {
                // h5py keeps datetime64/timedelta64 as opaque tagged with their dtype.str.
                if (code->size != 8) error("datetime64 and timedelta64 have 8 bytes");
                char prefix = order == Order::Little ? '<' : '>';
                return opaque_type(8, "NUMPY:" + std::string(1, prefix) + code->kind + "8" + unit);
            }
            default: error("unknown type");
        }
    }

    Code sized(std::string_view text, std::string& unit) {
        if (text == "object" || text == "object_") error("Python objects ('O') have no HDF5 fixed-size type");
        if (text == "str" || text == "str_" || text == "unicode" || text == "unicode_")
            error("numpy's UCS-4 strings ('U') have no HDF5 type; use 'S' with a byte length");
        if (text == "bytes" || text == "bytes_" || text == "void" || text == "S" || text == "a" || text == "V")
            error("zero-size type (give a length, e.g. S16 or V8)");
        char kind = text.front();
        std::string_view digits = text.substr(1);
        if (kind == 'M' || kind == 'm') {
            if (auto bracket = digits.find('['); bracket != std::string_view::npos) {
                unit = std::string(digits.substr(bracket));
                digits = digits.substr(0, bracket);
                if (!valid_time_unit(unit)) error("unknown datetime unit " + unit);
            }
        }
        if (kind == 'O') error("Python objects ('O') have no HDF5 fixed-size type");
        if (kind == 'U')
            error("numpy's UCS-4 strings ('U') have no HDF5 type; use 'S' with a byte length");
        static constexpr std::string_view kinds = "biufcSaVMm";
        if (kinds.find(kind) == std::string_view::npos || digits.empty() ||
            digits.find_first_not_of("0123456789") != std::string_view::npos)
            error("not a NumPy type string");
        std::uint64_t size = 0;
        auto [ptr, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), size);
        if (ec != std::errc() || ptr != digits.data() + digits.size() || size > kMaxTypeSize)
            error("size " + std::string(digits) + " is too large");
        return {kind, static_cast<std::size_t>(size)};
    }

    static bool valid_time_unit(const std::string& unit) {
        if (unit.size() < 3 || unit.back() != ']') return false;
        std::string_view inside(unit.data() + 1, unit.size() - 2);
        std::size_t digits = inside.find_first_not_of("0123456789");
        if (digits == std::string_view::npos) return false;
        // numpy keeps the count in a C int; a longer one would not fit HDF5's 255-byte tag either.
        int count = 0;
        if (digits > 0 && std::from_chars(inside.data(), inside.data() + digits, count).ec != std::errc())
            return false;
        inside.remove_prefix(digits);
        static constexpr std::string_view units[] = {"Y", "M", "W", "D", "h", "m", "s", "ms",
                                                     "us", "\xCE\xBCs", "ns", "ps", "fs", "as", "generic"};
        for (auto u : units)
            if (inside == u) return true;
        return false;
    }

    std::string whole_;
};

}  // namespace

Id numpy_type(const std::string& dtype) {
    return TypeParser(dtype).parse(dtype);
}

}  // namespace h5swmrfs::h5
