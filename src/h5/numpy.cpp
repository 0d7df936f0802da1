#include "h5/numpy.h"
#include "h5/bounds.h"
#include "util/text.h"

#include <bit>
#include <cctype>
#include <charconv>
#include <cstring>
#include <limits>
#include <optional>
#include <set>
#include <span>
#include <string_view>
#include <utility>

namespace h5swmrfs::h5 {
namespace {

constexpr bool host_is_little = std::endian::native == std::endian::little;

// HDF5 keeps an element's size in 32 bits in a dataset's layout message.
constexpr std::uint64_t kMaxTypeSize = std::numeric_limits<std::uint32_t>::max();

[[noreturn]] void invalid(const std::string& message) { throw Error(EINVAL, message); }

using util::trim;

bool is_space(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v'; }

void append_utf8(std::string& out, char32_t c) {
    if (c < 0x80) {
        out += static_cast<char>(c);
    } else if (c < 0x800) {
        out += static_cast<char>(0xC0 | (c >> 6));
        out += static_cast<char>(0x80 | (c & 0x3F));
    } else if (c < 0x10000) {
        out += static_cast<char>(0xE0 | (c >> 12));
        out += static_cast<char>(0x80 | ((c >> 6) & 0x3F));
        out += static_cast<char>(0x80 | (c & 0x3F));
    } else {
        out += static_cast<char>(0xF0 | (c >> 18));
        out += static_cast<char>(0x80 | ((c >> 12) & 0x3F));
        out += static_cast<char>(0x80 | ((c >> 6) & 0x3F));
        out += static_cast<char>(0x80 | (c & 0x3F));
    }
}

// ---- Python literals: what str(dtype.descr) and a .npy header are written in ----------------

struct Literal {
    enum class Kind { String, Integer, Boolean, None, Tuple, List, Dict };
    Kind kind = Kind::None;
    std::string text;               // String: the value as UTF-8
    std::uint64_t magnitude = 0;    // Integer
    bool negative = false;          // Integer; Boolean: !value
    std::vector<Literal> items;     // Tuple, List; Dict: key, value, key, value, ...
    std::string_view source;        // the literal as written

    bool is_count() const { return kind == Kind::Integer && !negative; }
};

// Parses the subset of Python's literal syntax that numpy writes (repr of str, int, bool,
// None, tuple, list, dict), as ast.literal_eval would read it.
class LiteralParser {
public:
    LiteralParser(std::string_view text, std::string context) : text_(text), context_(std::move(context)) {}

    Literal value(int depth = 0) {
        if (depth > 64) error("nested too deeply");
        skip_space();
        if (at_end()) error("unexpected end");
        std::size_t start = pos_;
        Literal out;
        char c = text_[pos_];
        if (c == '(' || c == '[' || c == '{') {
            ++pos_;
            out.kind = c == '(' ? Literal::Kind::Tuple : c == '[' ? Literal::Kind::List : Literal::Kind::Dict;
            sequence(out, c == '(' ? ')' : c == '[' ? ']' : '}', depth);
        } else if (c == '\'' || c == '"' || ((c == 'u' || c == 'U' || c == 'b' || c == 'B') && pos_ + 1 < text_.size() &&
                                             (text_[pos_ + 1] == '\'' || text_[pos_ + 1] == '"'))) {
            out.kind = Literal::Kind::String;
            out.text = string();
        } else if (c == '-' || c == '+' || (c >= '0' && c <= '9')) {
            out.kind = Literal::Kind::Integer;
            integer(out);
        } else if (word("True")) {
            out.kind = Literal::Kind::Boolean;
        } else if (word("False")) {
            out.kind = Literal::Kind::Boolean;
            out.negative = true;
        } else if (word("None")) {
            out.kind = Literal::Kind::None;
        } else {
            error(std::string("unexpected '") + c + "'");
        }
        out.source = text_.substr(start, pos_ - start);
        return out;
    }

    // The whole text is one literal (whitespace around it allowed).
    Literal all() {
        Literal out = value();
        skip_space();
        if (!at_end()) error("unexpected text after the value");
        return out;
    }

    std::size_t position() const { return pos_; }
    std::string_view rest() const { return text_.substr(pos_); }

private:
    [[noreturn]] void error(const std::string& what) const {
        invalid(context_ + ": " + what + " at offset " + std::to_string(pos_));
    }

    bool at_end() const { return pos_ >= text_.size(); }

    void skip_space() {
        while (!at_end() && is_space(text_[pos_])) ++pos_;
    }

    bool word(std::string_view w) {
        if (text_.substr(pos_, w.size()) != w) return false;
        std::size_t end = pos_ + w.size();
        if (end < text_.size() && (std::isalnum(static_cast<unsigned char>(text_[end])) || text_[end] == '_'))
            return false;
        pos_ = end;
        return true;
    }

    void sequence(Literal& out, char close, int depth) {
        bool dict = close == '}';
        bool saw_comma = false;
        for (;;) {
            skip_space();
            if (at_end()) error(std::string("missing '") + close + "'");
            if (text_[pos_] == close) {
                ++pos_;
                break;
            }
            if (!out.items.empty() && !saw_comma) error("expected ',' or '" + std::string(1, close) + "'");
            out.items.push_back(value(depth + 1));
            if (dict) {
                skip_space();
                if (at_end() || text_[pos_] != ':') error("expected ':' in a dict");
                ++pos_;
                out.items.push_back(value(depth + 1));
            }
            skip_space();
            saw_comma = !at_end() && text_[pos_] == ',';
            if (saw_comma) ++pos_;
        }
        // Python: (x) is x, and a one-item tuple needs its comma.
        if (close == ')' && out.items.size() == 1 && !saw_comma) {
            Literal inner = std::move(out.items.front());
            out = std::move(inner);
        }
    }

    void integer(Literal& out) {
        if (text_[pos_] == '-' || text_[pos_] == '+') {
            out.negative = text_[pos_] == '-';
            ++pos_;
            skip_space();
        }
        const char* begin = text_.data() + pos_;
        const char* end = text_.data() + text_.size();
        auto [ptr, ec] = std::from_chars(begin, end, out.magnitude);
        if (ec == std::errc::result_out_of_range) error("integer too large");
        if (ec != std::errc() || ptr == begin) error("expected a number");
        pos_ += static_cast<std::size_t>(ptr - begin);
        if (!at_end() && (text_[pos_] == 'L' || text_[pos_] == 'l')) ++pos_;  // Python 2 longs in old .npy headers
        if (!at_end() && (std::isalnum(static_cast<unsigned char>(text_[pos_])) || text_[pos_] == '.'))
            error("expected an integer");
        if (out.magnitude == 0) out.negative = false;
    }

    unsigned hex_digits(int count) {
        unsigned value = 0;
        for (int i = 0; i < count; ++i, ++pos_) {
            if (at_end() || !std::isxdigit(static_cast<unsigned char>(text_[pos_]))) error("bad \\x, \\u or \\U escape");
            char c = text_[pos_];
            value = value * 16 + static_cast<unsigned>(c <= '9' ? c - '0' : (c | 0x20) - 'a' + 10);
        }
        return value;
    }

    std::string string() {
        bool bytes = false;
        if (text_[pos_] != '\'' && text_[pos_] != '"') {
            bytes = text_[pos_] == 'b' || text_[pos_] == 'B';
            ++pos_;
        }
        char quote = text_[pos_++];
        std::string out;
        for (;;) {
            if (at_end() || text_[pos_] == '\n') error("unterminated string");
            char c = text_[pos_++];
            if (c == quote) break;
            if (c != '\\') {
                out += c;
                continue;
            }
            if (at_end()) error("unterminated string");
            char e = text_[pos_++];
            switch (e) {
                case '\n': break;
                case '\\': case '\'': case '"': out += e; break;
                case 'a': out += '\a'; break;
                case 'b': out += '\b'; break;
                case 'f': out += '\f'; break;
                case 'n': out += '\n'; break;
                case 'r': out += '\r'; break;
                case 't': out += '\t'; break;
                case 'v': out += '\v'; break;
                case 'x': {
                    unsigned code = hex_digits(2);
                    if (bytes) out += static_cast<char>(code);
                    else append_utf8(out, code);
                    break;
                }
                case 'u': case 'U': {
                    if (bytes) {
                        out += '\\';
                        out += e;
                        break;
                    }
                    unsigned code = hex_digits(e == 'u' ? 4 : 8);
                    if (code > 0x10FFFF || (code >= 0xD800 && code <= 0xDFFF)) error("escape names no Unicode character");
                    append_utf8(out, code);
                    break;
                }
                default:
                    if (e >= '0' && e <= '7') {
                        unsigned code = static_cast<unsigned>(e - '0');
                        for (int i = 0; i < 2 && !at_end() && text_[pos_] >= '0' && text_[pos_] <= '7'; ++i)
                            code = code * 8 + static_cast<unsigned>(text_[pos_++] - '0');
                        if (bytes) out += static_cast<char>(code & 0xFF);
                        else append_utf8(out, code);
                    } else {
                        out += '\\';  // Python keeps unknown escapes as written
                        out += e;
                    }
            }
        }
        return out;
    }

    std::string_view text_;
    std::string context_;
    std::size_t pos_ = 0;
};

// ---- building HDF5 types ----------------------------------------------------------------------

enum class Order { Little, Big };



Id integer_type(bool is_signed, std::size_t size, Order order) {
    bool le = order == Order::Little;
    switch (size) {
        case 1: return copy_type(is_signed ? H5T_STD_I8LE : H5T_STD_U8LE);
        case 2: return copy_type(is_signed ? (le ? H5T_STD_I16LE : H5T_STD_I16BE) : (le ? H5T_STD_U16LE : H5T_STD_U16BE));
        case 4: return copy_type(is_signed ? (le ? H5T_STD_I32LE : H5T_STD_I32BE) : (le ? H5T_STD_U32LE : H5T_STD_U32BE));
        default: return copy_type(is_signed ? (le ? H5T_STD_I64LE : H5T_STD_I64BE) : (le ? H5T_STD_U64LE : H5T_STD_U64BE));
    }
}

// numpy's longdouble: what H5T_NATIVE_LDOUBLE describes, when it is wider than a double.
constexpr std::size_t kLongDoubleSize = sizeof(long double) > sizeof(double) ? sizeof(long double) : 0;

Id float_type(std::size_t size, Order order) {
    H5T_order_t h5_order = order == Order::Little ? H5T_ORDER_LE : H5T_ORDER_BE;
    Id type;
    if (size == 2) {
        // IEEE binary16, built the way h5py builds it (HDF5 1.10 has no predefined one).
        type = copy_type(H5T_IEEE_F32LE);
        check(H5Tset_fields(type.get(), 15, 10, 5, 0, 10), "define half float");
        check(H5Tset_size(type.get(), 2), "define half float");
        check(H5Tset_ebias(type.get(), 15), "define half float");
    } else if (size == 4) {
        type = copy_type(H5T_IEEE_F32LE);
    } else if (size == 8) {
        type = copy_type(H5T_IEEE_F64LE);
    } else {
        type = copy_type(H5T_NATIVE_LDOUBLE);
    }
    check(H5Tset_order(type.get(), h5_order), "set float byte order");
    return type;
}

Id bool_type() {
    // h5py's bool: an enum of int8 with exactly FALSE=0 and TRUE=1.
    Id type = checked(H5Tenum_create(H5T_NATIVE_INT8), "create bool type");
    for (signed char value : {0, 1})
        check(H5Tenum_insert(type.get(), value ? "TRUE" : "FALSE", &value), "create bool type");
    return type;
}

Id complex_type(std::size_t size, Order order) {
    // h5py's complex: a compound of two floats named r and i.
    Id part = float_type(size / 2, order);
    Id type = checked(H5Tcreate(H5T_COMPOUND, size), "create complex type");
    check(H5Tinsert(type.get(), "r", 0, part.get()), "create complex type");
    check(H5Tinsert(type.get(), "i", size / 2, part.get()), "create complex type");
    return type;
}

Id string_type(std::size_t size) {
    // h5py's numpy 'S': fixed-length, NULLPAD, ASCII.
    Id type = copy_type(H5T_C_S1);
    check(H5Tset_size(type.get(), size), "create string type");
    check(H5Tset_strpad(type.get(), H5T_STR_NULLPAD), "create string type");
    return type;
}

Id opaque_type(std::size_t size, const std::string& tag) {
    Id type = checked(H5Tcreate(H5T_OPAQUE, size), "create opaque type");
    check(H5Tset_tag(type.get(), tag.c_str()), "set opaque tag");
    return type;
}

// ---- NumPy type strings -----------------------------------------------------------------------

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
        invalid(shown_type(whole_) + ": " + what);
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
        Order order = host_is_little ? Order::Little : Order::Big;
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

// ---- .npy headers ---------------------------------------------------------------------------

constexpr std::string_view kNpyMagic = "\x93NUMPY";

std::string latin1_to_utf8(std::string_view text) {
    std::string out;
    out.reserve(text.size());
    for (char c : text) append_utf8(out, static_cast<unsigned char>(c));
    return out;
}

std::uint64_t little_endian(std::span<const std::byte> bytes) {
    std::uint64_t value = 0;
    for (std::size_t i = bytes.size(); i-- > 0;) value = (value << 8) | std::to_integer<std::uint64_t>(bytes[i]);
    return value;
}

}  // namespace

Id numpy_type(const std::string& dtype) {
    return TypeParser(dtype).parse(dtype);
}

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
