// attribute_value() and attribute_names(): values whose text is obvious from the contract, and
// every attribute of files made with the C API and with h5py checked by h5py itself: the text
// must read back (through numpy) to what h5py reads, raw bytes must equal h5py's.
#include <catch2/catch.hpp>

#include <charconv>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <fstream>
#include <limits>
#include <string>
#include <vector>

#include "h5/attribute.h"
#include "h5/dtype.h"
#include "support.h"

using h5swmrfs::Error;
using h5swmrfs::h5::attribute_names;
using h5swmrfs::h5::attribute_value;
using h5swmrfs::h5::check;
using h5swmrfs::h5::checked;
using h5test::Id;

namespace {

Id copy(hid_t type) { return checked(H5Tcopy(type), "copy type"); }

Id scalar_space() { return checked(H5Screate(H5S_SCALAR), "scalar space"); }

Id simple_space(std::vector<hsize_t> dims) {
    return checked(H5Screate_simple(static_cast<int>(dims.size()), dims.data(), nullptr), "space");
}

// Creates attribute `name` of `file_type` on obj, written from `data` in `memory_type`.
void put(hid_t obj, const std::string& name, hid_t file_type, hid_t space, hid_t memory_type, const void* data) {
    Id attr = checked(H5Acreate2(obj, name.c_str(), file_type, space, H5P_DEFAULT, H5P_DEFAULT), "create " + name);
    if (data) check(H5Awrite(attr.get(), memory_type, data), "write " + name);
}

template <class T>
void put_number(hid_t obj, const std::string& name, hid_t file_type, hid_t native, T value) {
    put(obj, name, file_type, scalar_space().get(), native, &value);
}

Id fixed_string(std::size_t size, H5T_str_t pad) {
    Id out = copy(H5T_C_S1);
    check(H5Tset_size(out.get(), size), "size");
    check(H5Tset_strpad(out.get(), pad), "pad");
    return out;
}

Id vlen_string(H5T_cset_t cset) {
    Id out = copy(H5T_C_S1);
    check(H5Tset_size(out.get(), H5T_VARIABLE), "size");
    check(H5Tset_cset(out.get(), cset), "cset");
    return out;
}

Id half_type(H5T_order_t order) {
    Id out = copy(H5T_IEEE_F32LE);
    check(H5Tset_fields(out.get(), 15, 10, 5, 0, 10), "fields");
    check(H5Tset_size(out.get(), 2), "size");
    check(H5Tset_ebias(out.get(), 15), "bias");
    check(H5Tset_order(out.get(), order), "order");
    return out;
}

Id bool_type() {
    Id out = checked(H5Tenum_create(H5T_NATIVE_INT8), "enum");
    for (signed char v : {0, 1}) check(H5Tenum_insert(out.get(), v ? "TRUE" : "FALSE", &v), "insert");
    return out;
}

struct Pair {
    std::int32_t a;
    double b;
};

Id pair_type(hid_t a_type, hid_t b_type) {
    Id out = checked(H5Tcreate(H5T_COMPOUND, sizeof(Pair)), "compound");
    check(H5Tinsert(out.get(), "a", offsetof(Pair, a), a_type), "insert a");
    check(H5Tinsert(out.get(), "b", offsetof(Pair, b), b_type), "insert b");
    return out;
}

// A file with one group holding attributes of every kind, made with the C API.
struct AttributeFile {
    h5test::TempDir dir;
    std::filesystem::path path = dir.path() / "attributes.h5";

    AttributeFile() {
        Id file = h5test::create_file(path);
        Id group = checked(H5Gcreate2(file.get(), "g", H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT), "group");
        hid_t g = group.get();

        const char* hello = "hello";
        put(g, "vlen", vlen_string(H5T_CSET_ASCII).get(), scalar_space().get(), vlen_string(H5T_CSET_ASCII).get(), &hello);
        const char* utf8 = "caf\xc3\xa9";
        put(g, "vlen_utf8", vlen_string(H5T_CSET_UTF8).get(), scalar_space().get(), vlen_string(H5T_CSET_UTF8).get(), &utf8);
        const char* nothing = nullptr;
        put(g, "vlen_null", vlen_string(H5T_CSET_ASCII).get(), scalar_space().get(), vlen_string(H5T_CSET_ASCII).get(), &nothing);
        const char* texts[] = {"a", "", "b,c"};
        put(g, "vlen_array", vlen_string(H5T_CSET_UTF8).get(), simple_space({3}).get(), vlen_string(H5T_CSET_UTF8).get(), texts);

        const char padded[8] = {'h', 'i', 0, 'x', 0, 0, 0, 0};
        for (auto [name, pad] : {std::pair{"nullterm", H5T_STR_NULLTERM}, std::pair{"nullpad", H5T_STR_NULLPAD},
                                 std::pair{"spacepad", H5T_STR_SPACEPAD}}) {
            Id type = fixed_string(8, pad);
            put(g, name, type.get(), scalar_space().get(), type.get(), padded);
        }
        Id spaced = fixed_string(6, H5T_STR_SPACEPAD);
        put(g, "spaces", spaced.get(), scalar_space().get(), spaced.get(), "ab c  ");
        Id two = fixed_string(3, H5T_STR_NULLPAD);
        put(g, "fixed_array", two.get(), simple_space({2, 2}).get(), two.get(), "ab\0c\0\0def\0\0\0");

        put_number<std::int32_t>(g, "i4be", H5T_STD_I32BE, H5T_NATIVE_INT32, -5);
        put_number<std::int8_t>(g, "i1", H5T_STD_I8LE, H5T_NATIVE_INT8, -128);
        put_number<std::uint64_t>(g, "u8max", H5T_STD_U64BE, H5T_NATIVE_UINT64, std::numeric_limits<std::uint64_t>::max());
        put_number<std::int64_t>(g, "i8min", H5T_STD_I64LE, H5T_NATIVE_INT64, std::numeric_limits<std::int64_t>::min());
        put_number<float>(g, "f4", H5T_IEEE_F32BE, H5T_NATIVE_FLOAT, 0.1f);
        put_number<float>(g, "f4third", H5T_IEEE_F32LE, H5T_NATIVE_FLOAT, 1.0f / 3.0f);
        put_number<double>(g, "f8", H5T_IEEE_F64BE, H5T_NATIVE_DOUBLE, 0.1);
        put_number<double>(g, "f8big", H5T_IEEE_F64LE, H5T_NATIVE_DOUBLE, 1e300);
        put_number<double>(g, "f8inf", H5T_IEEE_F64LE, H5T_NATIVE_DOUBLE, -std::numeric_limits<double>::infinity());
        put_number<double>(g, "f8nan", H5T_IEEE_F64LE, H5T_NATIVE_DOUBLE, std::numeric_limits<double>::quiet_NaN());
        put_number<long double>(g, "f16", H5T_NATIVE_LDOUBLE, H5T_NATIVE_LDOUBLE, 1.0L / 3.0L);
        std::uint16_t half_tenth = 0x2E66;  // binary16 nearest 0.1
        put(g, "f2", half_type(H5T_ORDER_BE).get(), scalar_space().get(), half_type(H5T_ORDER_LE).get(), &half_tenth);
        std::uint16_t half_thousand = 0x63D0;  // 1000
        put(g, "f2k", half_type(H5T_ORDER_LE).get(), scalar_space().get(), half_type(H5T_ORDER_LE).get(), &half_thousand);
        std::vector<std::uint16_t> halves(64);
        for (std::size_t i = 0; i < halves.size(); ++i) halves[i] = static_cast<std::uint16_t>(i * 1021 + 7);
        put(g, "f2many", half_type(H5T_ORDER_LE).get(), simple_space({64}).get(), half_type(H5T_ORDER_LE).get(), halves.data());

        signed char yes = 1, no = 0;
        put(g, "true", bool_type().get(), scalar_space().get(), bool_type().get(), &yes);
        put(g, "false", bool_type().get(), scalar_space().get(), bool_type().get(), &no);
        auto color_type = [](hid_t base) {
            Id out = checked(H5Tenum_create(base), "enum");
            std::int16_t blue = 9;
            check(H5Tconvert(H5T_NATIVE_INT16, base, 1, &blue, nullptr, H5P_DEFAULT), "convert");
            check(H5Tenum_insert(out.get(), "BLUE", &blue), "insert");
            return out;
        };
        std::int16_t nine = 9;
        put(g, "enum", color_type(H5T_STD_I16BE).get(), scalar_space().get(), color_type(H5T_NATIVE_INT16).get(), &nine);
        std::uint16_t bits = 0xBEEF;
        put(g, "bitfield", H5T_STD_B16BE, scalar_space().get(), H5T_NATIVE_B16, &bits);

        std::int32_t ints[] = {1, 2, 3};
        put(g, "ints", H5T_STD_I32BE, simple_space({3}).get(), H5T_NATIVE_INT32, ints);
        std::int32_t grid[] = {1, 2, 3, 4, 5, 6};
        put(g, "grid", H5T_STD_I32LE, simple_space({2, 3}).get(), H5T_NATIVE_INT32, grid);
        double doubles[] = {0.5, -0.25, 1e-300};
        put(g, "doubles", H5T_IEEE_F64BE, simple_space({3}).get(), H5T_NATIVE_DOUBLE, doubles);
        hsize_t three = 3;
        Id array_type = checked(H5Tarray_create2(H5T_STD_U16BE, 1, &three), "array");
        Id native_array = checked(H5Tarray_create2(H5T_NATIVE_UINT16, 1, &three), "array");
        std::uint16_t shorts[] = {7, 8, 9, 10, 11, 12};
        put(g, "array_type", array_type.get(), scalar_space().get(), native_array.get(), shorts);
        put(g, "array_type_2", array_type.get(), simple_space({2}).get(), native_array.get(), shorts);

        Pair pair{-3, 2.5};
        put(g, "compound", pair_type(H5T_STD_I32BE, H5T_IEEE_F64BE).get(), scalar_space().get(),
            pair_type(H5T_NATIVE_INT32, H5T_NATIVE_DOUBLE).get(), &pair);
        Id opaque = checked(H5Tcreate(H5T_OPAQUE, 3), "opaque");
        put(g, "opaque", opaque.get(), scalar_space().get(), opaque.get(), "\x01\x00\x02");

        Id null_space = checked(H5Screate(H5S_NULL), "null space");
        put(g, "null", H5T_NATIVE_INT32, null_space.get(), H5T_NATIVE_INT32, nullptr);
        put(g, "zero", H5T_NATIVE_INT32, simple_space({0}).get(), H5T_NATIVE_INT32, nullptr);
        Id sequence = checked(H5Tvlen_create(H5T_NATIVE_INT), "vlen");
        put(g, "sequence", sequence.get(), scalar_space().get(), sequence.get(), nullptr);
        put(g, "reference", H5T_STD_REF_OBJ, scalar_space().get(), H5T_STD_REF_OBJ, nullptr);
    }
};

const AttributeFile& attribute_file() {
    static AttributeFile made;
    return made;
}

std::string value_of(const std::string& name) {
    Id file = h5test::open_file(attribute_file().path);
    Id group = checked(H5Gopen2(file.get(), "g", H5P_DEFAULT), "open g");
    return attribute_value(group.get(), name);
}

int error_of(const std::string& name) {
    try {
        value_of(name);
    } catch (const Error& e) {
        return e.code();
    }
    return 0;
}

}  // namespace

TEST_CASE("attribute strings are their text", "[attribute]") {
    CHECK(value_of("vlen") == "hello");
    CHECK(value_of("vlen_utf8") == "caf\xc3\xa9");
    CHECK(value_of("vlen_null") == "");
    CHECK(value_of("vlen_array") == "a,,b,c");
    // As h5py reads them: NULLTERM stops at the first NUL, NULLPAD keeps inner NULs, trailing
    // NULs and SPACEPAD's trailing spaces go.
    CHECK(value_of("nullterm") == "hi");
    CHECK(value_of("nullpad") == std::string("hi\0x", 4));
    CHECK(value_of("spacepad") == std::string("hi\0x", 4));
    CHECK(value_of("spaces") == "ab c");
    CHECK(value_of("fixed_array") == std::string("ab,c,def,", 9));
}

TEST_CASE("attribute numbers are exact or shortest round-trip decimals", "[attribute]") {
    CHECK(value_of("i4be") == "-5");
    CHECK(value_of("i1") == "-128");
    CHECK(value_of("u8max") == "18446744073709551615");
    CHECK(value_of("i8min") == "-9223372036854775808");
    CHECK(value_of("f4") == "0.1");
    CHECK(value_of("f4third") == "0.33333334");
    CHECK(value_of("f8") == "0.1");
    CHECK(value_of("f8big") == "1e+300");
    CHECK(value_of("f8inf") == "-inf");
    CHECK(value_of("f8nan") == "nan");
    CHECK(value_of("f2") == "0.1");
    CHECK(value_of("f2k") == "1000");
    CHECK(value_of("enum") == "9");
    CHECK(value_of("bitfield") == std::to_string(0xBEEF));
    long double third = 0;
    std::string f16 = value_of("f16");
    std::from_chars(f16.data(), f16.data() + f16.size(), third);
    CHECK(third == 1.0L / 3.0L);
    CHECK(f16.size() <= 23);  // 21 significant digits tell every x87 long double apart
}

TEST_CASE("attribute bools are 1 and 0", "[attribute]") {
    CHECK(value_of("true") == "1");
    CHECK(value_of("false") == "0");
}

TEST_CASE("attribute arrays are comma-separated in C order", "[attribute]") {
    CHECK(value_of("ints") == "1,2,3");
    CHECK(value_of("grid") == "1,2,3,4,5,6");
    CHECK(value_of("doubles") == "0.5,-0.25,1e-300");
    CHECK(value_of("array_type") == "7,8,9");
    CHECK(value_of("array_type_2") == "7,8,9,10,11,12");
}

TEST_CASE("other attribute types are their raw bytes in byte_form's layout", "[attribute]") {
    Pair expected{-3, 2.5};
    std::string bytes = value_of("compound");
    REQUIRE(bytes.size() == sizeof(Pair));
    Pair got;
    std::memcpy(&got, bytes.data(), sizeof got);
    CHECK(got.a == expected.a);
    CHECK(got.b == expected.b);
    CHECK(value_of("opaque") == std::string("\x01\x00\x02", 3));
}

TEST_CASE("attributes without elements are empty", "[attribute]") {
    CHECK(value_of("null") == "");
    CHECK(value_of("zero") == "");
}

TEST_CASE("attribute errors", "[attribute]") {
    CHECK(error_of("absent") == ENODATA);
    CHECK(error_of(std::string("vlen\0x", 6)) == ENODATA);
    CHECK(error_of("sequence") == ENOTSUP);
    CHECK(error_of("reference") == ENOTSUP);
}

TEST_CASE("attribute names come in byte order", "[attribute]") {
    h5test::TempDir dir;
    Id file = h5test::create_file(dir.path() / "names.h5");
    auto storage = GENERATE(as<std::string>{}, "compact", "dense");
    Id gcpl = checked(H5Pcreate(H5P_GROUP_CREATE), "gcpl");
    if (storage == "dense") check(H5Pset_attr_phase_change(gcpl.get(), 0, 0), "dense attributes");
    Id group = checked(H5Gcreate2(file.get(), "g", H5P_DEFAULT, gcpl.get(), H5P_DEFAULT), "group");
    INFO(storage << " storage");
    CHECK(attribute_names(group.get()).empty());
    std::vector<std::string> names = {"b", "a", "B", "_x", "caf\xc3\xa9", "a.b", "zz", "10", "9", "with space"};
    for (int i = 0; i < 20; ++i) names.push_back("n" + std::to_string(i * 7 % 20));
    for (const auto& name : names) put_number<int>(group.get(), name, H5T_STD_I32LE, H5T_NATIVE_INT, 1);
    std::vector<std::string> sorted = names;
    std::sort(sorted.begin(), sorted.end());
    CHECK(attribute_names(group.get()) == sorted);
    CHECK(attribute_value(group.get(), "caf\xc3\xa9") == "1");
}

// Every attribute h5py can read must agree with h5py: strings byte for byte, numbers reading
// back (through numpy's parsers) to h5py's values, raw bytes equal to h5py's in native order.
TEST_CASE("attribute values agree with h5py", "[attribute]") {
    auto source = GENERATE(as<std::string>{}, "C API", "h5py");
    INFO("file made with " << source);
    h5test::TempDir dir;
    std::filesystem::path path;
    std::vector<std::string> objects;
    if (source == "h5py") {
        path = dir.path() / "h5py_types.h5";
        h5test::run_script(H5TEST_SCRIPTS "/make_h5py_types.py", {path.string()});
        objects = {"/", "/a", "/d/i4be"};
    } else {
        path = attribute_file().path;
        objects = {"/g"};
    }
    std::filesystem::path ours = dir.path() / "ours.tsv";
    std::size_t checked_count = 0;
    {
        Id file = h5test::open_file(path);
        std::ofstream out(ours);
        for (const auto& object : objects) {
            Id obj = checked(H5Oopen(file.get(), object.c_str(), H5P_DEFAULT), "open " + object);
            for (const auto& name : attribute_names(obj.get())) {
                std::string value;
                try {
                    value = attribute_value(obj.get(), name);
                } catch (const Error& e) {
                    CHECK(e.code() == ENOTSUP);  // h5py has no numpy form for these either
                    CHECK((name == "sequence" || name == "reference"));
                    continue;
                }
                out << h5test::hex(object) << '\t' << h5test::hex(name) << '\t' << h5test::hex(value) << '\n';
                ++checked_count;
            }
        }
    }
    CHECK(checked_count >= 30);
    auto verdicts = h5test::table(h5test::run_script(H5TEST_SCRIPTS "/h5py_view.py", {"attributes", path.string(), ours.string()}));
    CHECK(verdicts.size() == checked_count);
    for (const auto& row : verdicts) {
        REQUIRE(row.size() == 3);
        INFO(h5test::unhex(row[0]) << " attribute " << h5test::unhex(row[1]));
        CHECK(row[2] == "OK");
    }
}
