// numpy_type(): NumPy type strings → HDF5 types, checked against HDF5's predefined types,
// against byte_form() (its inverse) over many generated types, and against what h5py reads.
#include <catch2/catch.hpp>

#include <algorithm>
#include <bit>
#include <cstring>
#include <functional>
#include <random>
#include <string>
#include <vector>

#include "h5/dtype.h"
#include "h5/numpy.h"
#include "support.h"

namespace {

using h5swmrfs::Error;
using h5swmrfs::h5::byte_form;
using h5swmrfs::h5::ByteForm;
using h5swmrfs::h5::check;
using h5swmrfs::h5::checked;
using h5swmrfs::h5::Id;
using h5swmrfs::h5::numpy_type;

constexpr bool host_is_little = std::endian::native == std::endian::little;

std::string member_name(hid_t type, unsigned index) {
    char* raw = H5Tget_member_name(type, index);
    std::string name(raw);
    H5free_memory(raw);
    return name;
}

std::string tag_of(hid_t type) {
    char* raw = H5Tget_tag(type);
    std::string tag = raw ? raw : "";
    H5free_memory(raw);
    return tag;
}

// An array type's element after every array level, and the dimensions of all levels.
Id flatten_array(hid_t type, std::vector<hsize_t>& dims) {
    Id current = checked(H5Tcopy(type), "copy");
    while (H5Tget_class(current.get()) == H5T_ARRAY) {
        std::vector<hsize_t> level(static_cast<std::size_t>(H5Tget_array_ndims(current.get())));
        H5Tget_array_dims2(current.get(), level.data());
        dims.insert(dims.end(), level.begin(), level.end());
        current = checked(H5Tget_super(current.get()), "array element");
    }
    return current;
}

bool is_unsigned_bits(hid_t type) {
    H5T_class_t c = H5Tget_class(type);
    return c == H5T_BITFIELD || (c == H5T_INTEGER && H5Tget_sign(type) == H5T_SGN_NONE);
}

// "" when `a` and `b` describe the same bytes the same way, else what differs. Bitfields and
// unsigned integers of one size and order count as alike (numpy shows both as 'u'); strings
// compare by size and padding (numpy's 'S' has no character set); nested arrays as one.
std::string layout_difference(hid_t a, hid_t b) {
    std::size_t size = H5Tget_size(a);
    if (size != H5Tget_size(b)) return "sizes " + std::to_string(size) + " and " + std::to_string(H5Tget_size(b));
    H5T_class_t ca = H5Tget_class(a), cb = H5Tget_class(b);
    if (is_unsigned_bits(a) && is_unsigned_bits(b))
        return size == 1 || H5Tget_order(a) == H5Tget_order(b) ? "" : "byte orders";
    if (ca != cb) return "classes " + std::to_string(ca) + " and " + std::to_string(cb);
    switch (ca) {
        case H5T_INTEGER: case H5T_FLOAT: case H5T_ENUM:
            return H5Tequal(a, b) > 0 ? "" : "atomic types differ (class " + std::to_string(ca) + ")";
        case H5T_STRING:
            return H5Tget_strpad(a) == H5Tget_strpad(b) && H5Tis_variable_str(a) == H5Tis_variable_str(b)
                       ? "" : "string padding";
        case H5T_OPAQUE: {
            // Only h5py's "NUMPY:<dtype>" tags say something about the bytes; numpy drops others.
            std::string ta = tag_of(a), tb = tag_of(b);
            bool numpy_tag = ta.starts_with("NUMPY:") || tb.starts_with("NUMPY:");
            return !numpy_tag || ta == tb ? "" : "opaque tags " + ta + " and " + tb;
        }
        case H5T_ARRAY: {
            std::vector<hsize_t> da, db;
            Id ea = flatten_array(a, da), eb = flatten_array(b, db);
            if (da != db) return "array dimensions";
            return layout_difference(ea.get(), eb.get());
        }
        case H5T_COMPOUND: {
            int n = H5Tget_nmembers(a);
            if (n != H5Tget_nmembers(b)) return "member counts";
            auto by_offset = [n](hid_t t) {
                std::vector<unsigned> order(static_cast<std::size_t>(n));
                for (unsigned i = 0; i < order.size(); ++i) order[i] = i;
                std::stable_sort(order.begin(), order.end(), [t](unsigned x, unsigned y) {
                    return H5Tget_member_offset(t, x) < H5Tget_member_offset(t, y);
                });
                return order;
            };
            std::vector<unsigned> oa = by_offset(a), ob = by_offset(b);
            for (std::size_t i = 0; i < oa.size(); ++i) {
                std::string name = member_name(a, oa[i]);
                if (name != member_name(b, ob[i])) return "member names " + name + " and " + member_name(b, ob[i]);
                if (H5Tget_member_offset(a, oa[i]) != H5Tget_member_offset(b, ob[i])) return "offsets of " + name;
                Id ma = checked(H5Tget_member_type(a, oa[i]), "member"), mb = checked(H5Tget_member_type(b, ob[i]), "member");
                std::string inner = layout_difference(ma.get(), mb.get());
                if (!inner.empty()) return "member " + name + ": " + inner;
            }
            return "";
        }
        default: return "unexpected class " + std::to_string(ca);
    }
}

int error_code(const std::function<void()>& action, std::string* message = nullptr) {
    try {
        action();
    } catch (const Error& e) {
        if (message) *message = e.what();
        return e.code();
    }
    return 0;
}

Id copy(hid_t type) { return checked(H5Tcopy(type), "copy"); }

// ---- a zoo of HDF5 types that byte_form() may accept ----------------------------------------

class TypeZoo {
public:
    explicit TypeZoo(unsigned seed) : rng_(seed) {}

    Id any(int depth) {
        switch (pick(depth > 0 ? 9 : 7)) {
            case 0: return integer();
            case 1: return floating();
            case 2: return bitfield();
            case 3: return enumeration();
            case 4: return string();
            case 5: return opaque();
            case 6: return integer();
            case 7: return array(depth - 1);
            default: return compound(depth - 1);
        }
    }

private:
    std::size_t pick(std::size_t n) { return std::uniform_int_distribution<std::size_t>(0, n - 1)(rng_); }

    Id integer() {
        const hid_t types[] = {H5T_STD_I8LE, H5T_STD_I8BE, H5T_STD_U8LE, H5T_STD_I16LE, H5T_STD_I16BE,
                               H5T_STD_U16LE, H5T_STD_U16BE, H5T_STD_I32LE, H5T_STD_I32BE, H5T_STD_U32LE,
                               H5T_STD_U32BE, H5T_STD_I64LE, H5T_STD_I64BE, H5T_STD_U64LE, H5T_STD_U64BE};
        return copy(types[pick(std::size(types))]);
    }

    Id floating() {
        switch (pick(8)) {
            case 0: return copy(H5T_IEEE_F32LE);
            case 1: return copy(H5T_IEEE_F32BE);
            case 2: return copy(H5T_IEEE_F64LE);
            case 3: return copy(H5T_IEEE_F64BE);
            case 4: return copy(H5T_NATIVE_LDOUBLE);
            case 5: {  // a 3-byte float that numpy shows as f4
                Id odd = copy(H5T_IEEE_F32LE);
                H5Tset_fields(odd.get(), 23, 16, 7, 0, 16);
                H5Tset_size(odd.get(), 3);
                H5Tset_ebias(odd.get(), 63);
                return odd;
            }
            default: {
                Id half = copy(H5T_IEEE_F32LE);
                H5Tset_fields(half.get(), 15, 10, 5, 0, 10);
                H5Tset_size(half.get(), 2);
                H5Tset_ebias(half.get(), 15);
                H5Tset_order(half.get(), pick(2) ? H5T_ORDER_LE : H5T_ORDER_BE);
                return half;
            }
        }
    }

    Id bitfield() {
        const hid_t types[] = {H5T_STD_B8LE, H5T_STD_B16LE, H5T_STD_B16BE, H5T_STD_B32LE, H5T_STD_B32BE,
                               H5T_STD_B64LE, H5T_STD_B64BE};
        return copy(types[pick(std::size(types))]);
    }

    Id enumeration() {
        Id base = integer();
        Id type = checked(H5Tenum_create(base.get()), "enum");
        bool boolean = pick(2);
        std::size_t members = boolean ? 2 : 1 + pick(4);
        for (std::size_t i = 0; i < members; ++i) {
            long long value = boolean ? static_cast<long long>(i) : static_cast<long long>(i * 3 + pick(3));
            std::vector<unsigned char> raw(16);
            std::memcpy(raw.data(), &value, sizeof value);
            H5Tconvert(H5T_NATIVE_LLONG, base.get(), 1, raw.data(), nullptr, H5P_DEFAULT);
            std::string name = boolean ? (i ? "TRUE" : "FALSE") : "M" + std::to_string(i);
            check(H5Tenum_insert(type.get(), name.c_str(), raw.data()), "enum member");
        }
        return type;
    }

    Id string() {
        Id type = copy(H5T_C_S1);
        H5Tset_size(type.get(), 1 + pick(20));
        const H5T_str_t pads[] = {H5T_STR_NULLTERM, H5T_STR_NULLPAD, H5T_STR_SPACEPAD};
        H5Tset_strpad(type.get(), pads[pick(3)]);
        H5Tset_cset(type.get(), pick(2) ? H5T_CSET_UTF8 : H5T_CSET_ASCII);
        return type;
    }

    Id opaque() {
        const char* tags[] = {"", "raw bytes", "NUMPY:<M8[us]", "NUMPY:>m8[s]"};
        std::size_t t = pick(std::size(tags));
        Id type = checked(H5Tcreate(H5T_OPAQUE, t >= 2 ? 8 : 1 + pick(12)), "opaque");
        H5Tset_tag(type.get(), tags[t]);
        return type;
    }

    Id array(int depth) {
        Id element = any(depth);
        std::vector<hsize_t> dims(1 + pick(3));
        for (hsize_t& d : dims) d = 1 + pick(3);
        return checked(H5Tarray_create2(element.get(), static_cast<unsigned>(dims.size()), dims.data()), "array");
    }

    Id compound(int depth) {
        static const std::vector<std::string> names = {
            "a", "b", "x y", "it's", "say \"hi\"", "both ' and \"", "back\\slash", "tab\there", "new\nline",
            "caf\xC3\xA9", "\xE6\x97\xA5\xE6\x9C\xAC", "\xC2\x85nel", "del\x7F", "zero\xE2\x80\x8Bwidth",
            "emoji \xF0\x9F\x98\x80", "tag\xF3\xA0\x80\x81", "ctl\x01", "r", "i", "f0"};
        if (pick(6) == 0) {  // h5py's complex
            Id part = pick(2) ? copy(H5T_IEEE_F32BE) : copy(H5T_IEEE_F64LE);
            std::size_t half = H5Tget_size(part.get());
            Id type = checked(H5Tcreate(H5T_COMPOUND, 2 * half), "complex");
            H5Tinsert(type.get(), "r", 0, part.get());
            H5Tinsert(type.get(), "i", half, part.get());
            return type;
        }
        std::vector<std::string> chosen = names;
        std::shuffle(chosen.begin(), chosen.end(), rng_);
        chosen.resize(1 + pick(5));
        std::vector<Id> members;
        std::vector<std::size_t> offsets;
        std::size_t end = 0;
        for (std::size_t i = 0; i < chosen.size(); ++i) {
            members.push_back(any(depth));
            end += pick(3) ? 0 : 1 + pick(4);  // a gap now and then
            offsets.push_back(end);
            end += H5Tget_size(members.back().get());
        }
        end += pick(3) ? 0 : 1 + pick(8);
        Id type = checked(H5Tcreate(H5T_COMPOUND, end), "compound");
        // Inserted out of offset order: numpy lists fields by offset whatever HDF5 holds.
        std::vector<std::size_t> order(chosen.size());
        for (std::size_t i = 0; i < order.size(); ++i) order[i] = i;
        std::shuffle(order.begin(), order.end(), rng_);
        for (std::size_t i : order) check(H5Tinsert(type.get(), chosen[i].c_str(), offsets[i], members[i].get()), "insert");
        return type;
    }

    std::mt19937 rng_;
};

}  // namespace

TEST_CASE("numpy_type: dtype.str forms are HDF5's standard types in the order they name", "[numpy]") {
    struct Case {
        const char* dtype;
        hid_t expected;
    };
    const Case cases[] = {
        {"<i1", H5T_STD_I8LE}, {"|i1", H5T_STD_I8LE}, {"|u1", H5T_STD_U8LE}, {"<i2", H5T_STD_I16LE},
        {">i2", H5T_STD_I16BE}, {">u2", H5T_STD_U16BE}, {"<u2", H5T_STD_U16LE}, {"<i4", H5T_STD_I32LE},
        {">u4", H5T_STD_U32BE}, {"<i8", H5T_STD_I64LE}, {">u8", H5T_STD_U64BE}, {"<f4", H5T_IEEE_F32LE},
        {">f4", H5T_IEEE_F32BE}, {"<f8", H5T_IEEE_F64LE}, {">f8", H5T_IEEE_F64BE},
        {"float32", H5T_NATIVE_FLOAT}, {"float64", H5T_NATIVE_DOUBLE}, {"f8", H5T_NATIVE_DOUBLE},
        {"int16", H5T_NATIVE_INT16}, {"i4", H5T_NATIVE_INT32}, {"uint8", H5T_NATIVE_UINT8},
        {"u1", H5T_NATIVE_UINT8}, {"int64", H5T_NATIVE_INT64}, {"uint64", H5T_NATIVE_UINT64},
        {"=u2", H5T_NATIVE_UINT16}, {"|i4", H5T_NATIVE_INT32}, {"  >i4\n", H5T_STD_I32BE},
        {"'<i2'", H5T_STD_I16LE}, {"\"float32\"", H5T_NATIVE_FLOAT}, {"<f16", H5T_NATIVE_LDOUBLE}, {"longdouble", H5T_NATIVE_LDOUBLE}, {"g", H5T_NATIVE_LDOUBLE},
    };
    for (const Case& c : cases) {
        INFO(c.dtype);
        Id type = numpy_type(c.dtype);
        CHECK(H5Tequal(type.get(), c.expected) > 0);
    }
}

TEST_CASE("numpy_type: h5py's bool, complex, strings, opaque and datetime", "[numpy]") {
    for (const char* dtype : {"|b1", "bool", "?", "b1"}) {
        INFO(dtype);
        Id type = numpy_type(dtype);
        REQUIRE(H5Tget_class(type.get()) == H5T_ENUM);
        CHECK(H5Tget_size(type.get()) == 1);
        CHECK(byte_form(type.get()).numpy == "|b1");
    }
    Id complex = numpy_type(">c16");
    REQUIRE(H5Tget_class(complex.get()) == H5T_COMPOUND);
    CHECK(H5Tget_size(complex.get()) == 16);
    CHECK(member_name(complex.get(), 0) == "r");
    CHECK(member_name(complex.get(), 1) == "i");
    CHECK(H5Tget_member_offset(complex.get(), 1) == 8);
    Id part = checked(H5Tget_member_type(complex.get(), 1), "member");
    CHECK(H5Tequal(part.get(), H5T_IEEE_F64BE) > 0);

    Id text = numpy_type("|S16");
    CHECK(H5Tget_class(text.get()) == H5T_STRING);
    CHECK(H5Tget_size(text.get()) == 16);
    CHECK(H5Tget_strpad(text.get()) == H5T_STR_NULLPAD);
    CHECK(H5Tget_cset(text.get()) == H5T_CSET_ASCII);
    CHECK(H5Tget_size(numpy_type("S16").get()) == 16);
    CHECK(H5Tget_size(numpy_type("a3").get()) == 3);

    Id opaque = numpy_type("|V8");
    CHECK(H5Tget_class(opaque.get()) == H5T_OPAQUE);
    CHECK(H5Tget_size(opaque.get()) == 8);
    Id datetime = numpy_type("<M8[ns]");
    CHECK(H5Tget_class(datetime.get()) == H5T_OPAQUE);
    CHECK(tag_of(datetime.get()) == "NUMPY:<M8[ns]");
    CHECK(tag_of(numpy_type("m8[10s]").get()) == std::string("NUMPY:") + (host_is_little ? "<" : ">") + "m8[10s]");
    CHECK(tag_of(numpy_type("<M8[2147483647ns]").get()) == "NUMPY:<M8[2147483647ns]");  // numpy's largest count
}

TEST_CASE("numpy_type: names and bare codes mean this host's byte order", "[numpy]") {
    const char* native = host_is_little ? "<" : ">";
    struct Case {
        const char* dtype;
        std::string shown;  // byte_form()'s user.h5.dtype for it
    };
    const Case cases[] = {
        {"float32", std::string(native) + "f4"}, {"float64", std::string(native) + "f8"},
        {"float16", std::string(native) + "f2"}, {"int16", std::string(native) + "i2"}, {"uint8", "|u1"},
        {"f8", std::string(native) + "f8"}, {"i4", std::string(native) + "i4"}, {"u1", "|u1"},
        {"S16", "|S16"}, {"bool", "|b1"}, {"complex64", std::string(native) + "c8"},
        {"complex128", std::string(native) + "c16"}, {"double", std::string(native) + "f8"},
        {"e", std::string(native) + "f2"}, {"d", std::string(native) + "f8"}, {"b", "|i1"}, {"B", "|u1"},
        {"h", std::string(native) + "i2"}, {"Q", std::string(native) + "u8"}, {"int", std::string(native) + "i8"},
    };
    for (const Case& c : cases) {
        INFO(c.dtype);
        CHECK(byte_form(numpy_type(c.dtype).get()).numpy == c.shown);
    }
}

TEST_CASE("numpy_type: arrays and compounds in str(dtype.descr) form", "[numpy]") {
    Id array = numpy_type("(2, 3)<f8");
    REQUIRE(H5Tget_class(array.get()) == H5T_ARRAY);
    std::vector<hsize_t> dims;
    Id element = flatten_array(array.get(), dims);
    CHECK(dims == std::vector<hsize_t>{2, 3});
    CHECK(H5Tequal(element.get(), H5T_IEEE_F64LE) > 0);
    CHECK(H5Tget_size(numpy_type("(3,)<i4").get()) == 12);
    CHECK(H5Tget_size(numpy_type("(3)<i4").get()) == 12);

    // Nested subarrays merge into one shape, as numpy merges them.
    Id merged = numpy_type("('(2,)<i4', (3,))");
    std::vector<hsize_t> merged_dims;
    flatten_array(merged.get(), merged_dims);
    CHECK(H5Tget_array_ndims(merged.get()) == 2);
    CHECK(merged_dims == std::vector<hsize_t>{3, 2});

    Id compound = numpy_type("[('a', '<i4'), ('', '|V4'), ('b', '<f8', (2,))]");
    REQUIRE(H5Tget_class(compound.get()) == H5T_COMPOUND);
    CHECK(H5Tget_size(compound.get()) == 24);
    REQUIRE(H5Tget_nmembers(compound.get()) == 2);
    CHECK(member_name(compound.get(), 0) == "a");
    CHECK(H5Tget_member_offset(compound.get(), 0) == 0);
    CHECK(member_name(compound.get(), 1) == "b");
    CHECK(H5Tget_member_offset(compound.get(), 1) == 8);
    Id b = checked(H5Tget_member_type(compound.get(), 1), "member");
    CHECK(H5Tget_class(b.get()) == H5T_ARRAY);
    CHECK(byte_form(compound.get()).numpy == "[('a', '<i4'), ('', '|V4'), ('b', '<f8', (2,))]");

    // Trailing padding keeps the itemsize; nested compounds; numpy's names for unnamed fields.
    Id tail = numpy_type("[('p', [('x', '<f4'), ('', '|V2'), ('y', '>i2')]), ('', '|V8')]");
    CHECK(H5Tget_size(tail.get()) == 16);
    Id p = checked(H5Tget_member_type(tail.get(), 0), "member");
    CHECK(H5Tget_size(p.get()) == 8);
    CHECK(H5Tget_member_offset(p.get(), 1) == 6);
    Id unnamed = numpy_type("[('', '<i4'), ('b', '<i4'), ('', '<u2')]");
    CHECK(member_name(unnamed.get(), 0) == "f0");
    CHECK(member_name(unnamed.get(), 2) == "f2");
    Id titled = numpy_type("[(('a title', 'name'), '<i4')]");
    CHECK(member_name(titled.get(), 0) == "name");
    Id array_of_compound = numpy_type("([('a', '<i4'), ('b', '>f2')], (3,))");
    CHECK(H5Tget_size(array_of_compound.get()) == 18);
    CHECK(byte_form(array_of_compound.get()).numpy == "([('a', '<i4'), ('b', '<f2')], (3,))");
}

TEST_CASE("numpy_type: field names as Python's repr writes them", "[numpy]") {
    struct Case {
        const char* descr;
        std::string name;
    };
    const Case cases[] = {
        {R"([("it's", '<i4')])", "it's"},
        {R"([('say "hi"', '<i4')])", "say \"hi\""},
        {R"([('both \' and "', '<i4')])", "both ' and \""},
        {R"([('back\\slash', '<i4')])", "back\\slash"},
        {R"([('tab\there\nnew\rret', '<i4')])", "tab\there\nnew\rret"},
        {"[('caf\xC3\xA9 \xE6\x97\xA5\xE6\x9C\xAC', '<i4')]", "caf\xC3\xA9 \xE6\x97\xA5\xE6\x9C\xAC"},
        {R"([('\x85nel\x7f', '<i4')])", "\xC2\x85nel\x7F"},
        {R"([('zero\u200bwidth', '<i4')])", "zero\xE2\x80\x8Bwidth"},
        {R"([('tag\U000e0001', '<i4')])", "tag\xF3\xA0\x80\x81"},
        {R"([('a.b/c', '<i4')])", "a.b/c"},
    };
    for (const Case& c : cases) {
        INFO(c.descr);
        Id type = numpy_type(c.descr);
        REQUIRE(H5Tget_nmembers(type.get()) == 1);
        CHECK(member_name(type.get(), 0) == c.name);
        CHECK(byte_form(type.get()).numpy == c.descr);
    }
    // Other spellings Python reads the same way.
    CHECK(member_name(numpy_type(R"([("plain", "<i4")])").get(), 0) == "plain");
    CHECK(member_name(numpy_type(R"([(u'octal\101\60', '<i4')])").get(), 0) == "octalA0");
    CHECK(member_name(numpy_type(R"([('unknown \q escape', '<i4')])").get(), 0) == "unknown \\q escape");
}

TEST_CASE("numpy_type: rejects what is not a fixed-size NumPy type, with EINVAL", "[numpy]") {
    const char* bad[] = {
        "|O", "O", "object", "", "   ", "garbage", "<", "i3", "<f3", "f32", "c4", "b2", "S0", "S", "|V0",
        "V", "U5", "<U5", "str", "bytes", "(0,)<i4", "(2, 0)<f8", "(-1,)<i4", "(2,", "(2,)", "()", "[]",
        "[('', '|V8')]", "[('a', '<i4'), ('a', '<f8')]", "[('a')]", "[('a', '<i4'", "[('a', '<i4')] x",
        "[('a', '<i4', (2,), 1)]", "[(1, '<i4')]", "[('a', 5)]", "[('a', '|O')]", "('<i4',)", "<M8[eons]",
        "<M4[ns]", "[('a\\x', '<i4')]", "[('a\\ud800', '<i4')]", "(4294967296,)<i8",
        "S99999999999", "[[('a', '<i4')]]", "{'a': '<i4'}",
        "<M8[2147483648ns]",  // numpy's count is a C int; HDF5's tag holds 255 bytes
        "<M8[999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999"
        "999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999999"
        "99999999999999999999999999999999999999999999999999999999999999999999ns]",
    };
    for (const char* dtype : bad) {
        INFO(dtype);
        std::string message;
        CHECK(error_code([&] { numpy_type(dtype); }, &message) == EINVAL);
        CHECK(message.find("NumPy type") != std::string::npos);
    }
    CHECK(error_code([] { numpy_type(std::string("[('a\0b', '<i4')]", 16)); }) == EINVAL);
    std::string message;
    error_code([] { numpy_type("|O"); }, &message);
    CHECK(message.find("'|O'") != std::string::npos);
}

TEST_CASE("numpy_type inverts byte_form over many HDF5 types", "[numpy]") {
    std::vector<Id> types;
    TypeZoo zoo(20240611);
    for (int i = 0; i < 3000; ++i) types.push_back(zoo.any(3));
    std::size_t checked_types = 0;
    for (const Id& type : types) {
        ByteForm form;
        try {
            form = byte_form(type.get());
        } catch (const Error&) {
            continue;  // types numpy cannot show (overlapping members, ...) are not the question
        }
        if (form.vlen_string) continue;
        INFO(form.numpy);
        Id inverse = numpy_type(form.numpy);
        CHECK(layout_difference(form.memory_type.get(), inverse.get()) == "");
        CHECK(byte_form(inverse.get()).numpy == form.numpy);
        ++checked_types;
    }
    CHECK(checked_types > 2000);
}

TEST_CASE("numpy_type: h5py reads the dtype numpy makes of the same string", "[numpy][h5py]") {
    h5test::TempDir dir;
    const auto path = dir.path() / "dtypes.h5";
    auto cases = h5test::table(h5test::run_script(H5WRITE_SCRIPTS "/dtypes.py", {"list"}));
    REQUIRE(cases.size() > 80);
    {
        Id file = h5test::create_file(path);
        Id cases_group = checked(H5Gcreate2(file.get(), "cases", H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT), "group");
        Id raw_group = checked(H5Gcreate2(file.get(), "raw", H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT), "group");
        for (const auto& row : cases) {
            const std::string& id = row.at(0);
            const std::string dtype = h5test::unhex(row.at(1));
            INFO(dtype);
            Id type = numpy_type(dtype);
            constexpr hsize_t elements = 3;
            std::string bytes = h5test::pseudo_random_bytes(elements * H5Tget_size(type.get()), std::stoul(id));
            // Bools (h5py's enum) must hold 0 or 1, or the enum conversion changes them.
            if (H5Tdetect_class(type.get(), H5T_ENUM) > 0)
                for (char& c : bytes) c &= 1;
            Id space = checked(H5Screate_simple(1, &elements, nullptr), "space");
            Id ds = checked(H5Dcreate2(cases_group.get(), id.c_str(), type.get(), space.get(), H5P_DEFAULT,
                                       H5P_DEFAULT, H5P_DEFAULT), "dataset " + dtype);
            check(H5Dwrite(ds.get(), type.get(), H5S_ALL, H5S_ALL, H5P_DEFAULT, bytes.data()), "write " + dtype);
            const hsize_t raw_size = bytes.size();
            Id raw_space = checked(H5Screate_simple(1, &raw_size, nullptr), "space");
            Id raw = checked(H5Dcreate2(raw_group.get(), id.c_str(), H5T_NATIVE_UINT8, raw_space.get(), H5P_DEFAULT,
                                        H5P_DEFAULT, H5P_DEFAULT), "raw dataset");
            check(H5Dwrite(raw.get(), H5T_NATIVE_UINT8, H5S_ALL, H5S_ALL, H5P_DEFAULT, bytes.data()), "write raw");
        }
    }
    auto results = h5test::table(h5test::run_script(H5WRITE_SCRIPTS "/dtypes.py", {"check", path.string()}));
    REQUIRE(results.size() == cases.size());
    for (const auto& row : results) {
        INFO(row.at(0));
        CHECK(row.at(1) == "ok");
    }
}
