// set_attribute / delete_attribute / has_attribute / copy_attributes on files h5py wrote, read
// back both with attribute_value() and with h5py.
#include <catch2/catch.hpp>

#include <algorithm>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include "h5/attribute.h"
#include "h5/attribute_write.h"
#include "support.h"
#include "util/text.h"

namespace {

using namespace std::string_literals;
using h5swmrfs::Error;
using h5swmrfs::h5::attribute_value;
using h5swmrfs::h5::check;
using h5swmrfs::h5::checked;
using h5swmrfs::h5::copy_attributes;
using h5swmrfs::h5::delete_attribute;
using h5swmrfs::h5::has_attribute;
using h5swmrfs::h5::Id;
using h5swmrfs::h5::set_attribute;

int error_code(const std::function<void()>& action) {
    try {
        action();
    } catch (const Error& e) {
        return e.code();
    }
    return 0;
}

Id open_object(hid_t file, const char* path) {
    return checked(H5Oopen(file, path, H5P_DEFAULT), std::string("open ") + path);
}

// Adds what h5py cannot write: a bitfield and an attribute whose type is an HDF5 array.
void add_c_attributes(hid_t obj) {
    hsize_t two = 2;
    Id scalar = checked(H5Screate(H5S_SCALAR), "space");
    Id bits = checked(H5Acreate2(obj, "bits", H5T_STD_B16LE, scalar.get(), H5P_DEFAULT, H5P_DEFAULT), "bits");
    std::uint16_t bit_value = 0x00FF;
    check(H5Awrite(bits.get(), H5T_NATIVE_B16, &bit_value), "write bits");
    Id array_type = checked(H5Tarray_create2(H5T_STD_I32BE, 1, &two), "array type");
    Id pair = checked(H5Screate_simple(1, &two, nullptr), "space");
    Id arrays = checked(H5Acreate2(obj, "arr_type", array_type.get(), pair.get(), H5P_DEFAULT, H5P_DEFAULT), "arrays");
    std::int32_t values[4] = {1, 2, 3, 4};
    Id memory = checked(H5Tarray_create2(H5T_NATIVE_INT32, 1, &two), "array type");
    check(H5Awrite(arrays.get(), memory.get(), values), "write arrays");
}

struct Fixture {
    h5test::TempDir dir;
    std::filesystem::path path = dir.path() / "attributes.h5";

    Fixture() {
        h5test::run_script(H5WRITE_SCRIPTS "/attributes.py", {"make", path.string()});
        Id file = h5test::open_file(path, true);
        Id d = open_object(file.get(), "d");
        add_c_attributes(d.get());
    }

    // What h5py reads of every attribute of `object`: name → {type, shape, value}.
    std::map<std::string, std::vector<std::string>> dump(const char* object) const {
        std::map<std::string, std::vector<std::string>> out;
        for (auto& row : h5test::table(h5test::run_script(H5WRITE_SCRIPTS "/attributes.py", {"dump", path.string(), object})))
            out[h5test::unhex(row.at(0))] = {row.at(1), row.at(2), row.at(3)};
        return out;
    }
};

using h5test::hex;

}  // namespace

TEST_CASE("set_attribute keeps a numeric attribute's type and shape", "[attribute][h5py]") {
    Fixture fixture;
    struct Case {
        const char* name;
        const char* value;
        const char* read_back;  // attribute_value()
        const char* h5py;       // type, shape and value as h5py reads them
    };
    const Case cases[] = {
        {"i32", "42", "42", "<i4|()|42"},
        {"i8", " +12 ", "12", "|i1|()|12"},
        {"i16_2x3", "1, 2,3,4 ,5,\t-6", "1,2,3,4,5,-6", "<i2|(2, 3)|1,2,3,4,5,-6"},
        {"u64", "18446744073709551615", "18446744073709551615", "<u8|()|18446744073709551615"},
        {"f32", "-0", "-0", ""},
        {"f32", "0.1", "0.1", "<f4|()|0.1"},
        {"f16", "65519", "65500", ""},  // 65504, shown as the shortest text naming it
        {"f16", "0.1", "0.1", "<f2|()|0.1"},
        {"f64_2", "NaN, -Infinity", "nan,-inf", ""},
        {"f64_2", ".5,5.", "0.5,5", ""},
        {"f64_2", "inf,-inf", "inf,-inf", "<f8|(2,)|inf,-inf"},
        {"f128", "0.1", "0.1", "<f16|()|0.1"},
        {"be_i4", "-1,65536", "-1,65536", ">i4|(2,)|-1,65536"},
        {"be_f8", "nan", "nan", ">f8|()|nan"},
        {"flag", "0", "0", ""},
        {"flag", "TRUE", "1", "|b1|()|True"},
        {"flags", "1, false", "1,0", "|b1|(2,)|True,False"},
        {"color", "42", "42", "|u1|()|42"},
        {"color_be", "1,42", "1,42", ">i2|(2,)|1,42"},
        {"bits", "65535", "65535", ""},
        {"arr_type", "5,6,-7,8", "5,6,-7,8", ""},
        {"empty", "", "", "<f4|None|empty"},
    };
    {
        Id file = h5test::open_file(fixture.path, true);
        Id d = open_object(file.get(), "d");
        for (const Case& c : cases) {
            INFO(c.name << " = " << c.value);
            Id before = checked(H5Aopen(d.get(), c.name, H5P_DEFAULT), "open");
            Id type_before = checked(H5Aget_type(before.get()), "type");
            Id space_before = checked(H5Aget_space(before.get()), "space");
            before.reset();
            set_attribute(d.get(), c.name, c.value);
            Id after = checked(H5Aopen(d.get(), c.name, H5P_DEFAULT), "open");
            Id type_after = checked(H5Aget_type(after.get()), "type");
            Id space_after = checked(H5Aget_space(after.get()), "space");
            CHECK(H5Tequal(type_before.get(), type_after.get()) > 0);
            CHECK(H5Sextent_equal(space_before.get(), space_after.get()) > 0);
            CHECK(attribute_value(d.get(), c.name) == c.read_back);
        }
    }
    auto seen = fixture.dump("d");
    for (const Case& c : cases) {
        if (!*c.h5py) continue;
        INFO(c.name);
        const auto& row = seen.at(c.name);
        CHECK(row[0] + "|" + row[1] + "|" + row[2] == c.h5py);
    }
}

TEST_CASE("set_attribute: numbers that do not fit the type become h5py's str", "[attribute][h5py]") {
    Fixture fixture;
    struct Case {
        const char* name;
        std::string value;
    };
    const std::vector<Case> cases = {
        {"i32", "1,2"},                 // count differs
        {"i16_2x3", "1,2,3"},
        {"i32", "abc"},                 // not a number
        {"i8", "128"},                  // out of range
        {"u64", "-1"},
        {"u64", "18446744073709551616"},
        {"f32", "1e999"},               // no float32 reads back as these
        {"f64_2", "1,-1e-999"},
        {"f16", "65520"},               // float16's largest is 65504
        {"f32", "1.5.2"},
        {"f64_2", "1,"},
        {"flag", "yes"},
        {"color", "256"},
        {"bits", "65536"},
        {"i32", "1.0"},                 // integers are integers
        {"cplx", "1+2j"},               // compound
        {"comp", "1,2"},
        {"fixed", "xyz"},               // strings
        {"vlen", "new text"},
        {"empty", "1"},
        {"absent", "hello"},
        {"f16", ""},
        {"unicode", "caf\xC3\xA9 \xE2\x98\x83"},
    };
    {
        Id file = h5test::open_file(fixture.path, true);
        Id d = open_object(file.get(), "d");
        for (const Case& c : cases) {
            INFO(c.name << " = " << c.value);
            set_attribute(d.get(), c.name, c.value);
            Id attr = checked(H5Aopen(d.get(), c.name, H5P_DEFAULT), "open");
            Id type = checked(H5Aget_type(attr.get()), "type");
            Id space = checked(H5Aget_space(attr.get()), "space");
            CHECK(H5Tget_class(type.get()) == H5T_STRING);
            CHECK(H5Tis_variable_str(type.get()) > 0);
            CHECK(H5Tget_cset(type.get()) == H5T_CSET_UTF8);
            CHECK(H5Sget_simple_extent_type(space.get()) == H5S_SCALAR);
            CHECK(attribute_value(d.get(), c.name) == c.value);
        }
    }
    // Last value per name, as h5py's str.
    std::map<std::string, std::string> last;
    for (const Case& c : cases) last[c.name] = c.value;
    auto seen = fixture.dump("d");
    for (const auto& [name, value] : last) {
        INFO(name);
        const auto& row = seen.at(name);
        CHECK(row[0] == "vlen-utf8");
        CHECK(row[1] == "()");
        CHECK(row[2] == "str:" + hex(value));
    }
}

TEST_CASE("set_attribute: bytes that are not UTF-8 text read back byte for byte", "[attribute][h5py]") {
    Fixture fixture;
    // Name → value: not UTF-8, NULs inside, leading and trailing, alone; then "vlen" (text
    // until now) and "fixed" (|S3) replaced by bytes, and "i32" by bytes that are no number.
    const std::map<std::string, std::string> values = {
        {"binary", "\xFF\xFE" "binary"},
        {"with_nul", "a\0b"s},
        {"trailing", "abc\0"s},
        {"leading", "\0abc"s},
        {"lone", "\0"s},
        {"nuls", "\0\0\0\0"s},
        {"one_le", "\x01\0\0\0"s},
        {"vlen", "\x80"},
        {"fixed", "xy\0\0"s},
        {"i32", "42\0"s},
    };
    {
        Id file = h5test::open_file(fixture.path, true);
        Id d = open_object(file.get(), "d");
        for (const auto& [name, value] : values) {
            INFO(name);
            set_attribute(d.get(), name, value);
            CHECK(attribute_value(d.get(), name) == value);
            Id attr = checked(H5Aopen(d.get(), name.c_str(), H5P_DEFAULT), "open");
            Id type = checked(H5Aget_type(attr.get()), "type");
            CHECK(H5Tget_class(type.get()) == H5T_OPAQUE);
            CHECK(H5Tget_size(type.get()) == value.size());
        }
        // Back to text: h5py's str again.
        set_attribute(d.get(), "lone", "");
        CHECK(attribute_value(d.get(), "lone").empty());
    }
    auto seen = fixture.dump("d");
    for (const auto& [name, value] : values) {
        if (name == "lone") continue;
        INFO(name);
        CHECK(seen.at(name) ==
              std::vector<std::string>{"|V" + std::to_string(value.size()), "()", "bytes:" + hex(value)});
    }
    CHECK(seen.at("lone") == std::vector<std::string>{"vlen-utf8", "()", "str:"});
}

TEST_CASE("set_attribute: a binary value too large for a version 1 header is EINVAL", "[attribute]") {
    Fixture fixture;
    Id file = h5test::open_file(fixture.path, true);
    Id d = open_object(file.get(), "d");  // written by h5py's defaults: a version 1 header
    const std::string big(65536, '\0'), fits(65000, '\0');
    CHECK(error_code([&] { set_attribute(d.get(), "big", big); }) == EINVAL);
    CHECK_FALSE(has_attribute(d.get(), "big"));
    CHECK(error_code([&] { set_attribute(d.get(), "vlen", big); }) == EINVAL);
    CHECK(attribute_value(d.get(), "vlen") == "text");
    set_attribute(d.get(), "fits", fits);
    CHECK(attribute_value(d.get(), "fits") == fits);
    const std::string text(65536, 'x');  // a string's bytes live outside the header
    set_attribute(d.get(), "text", text);
    CHECK(attribute_value(d.get(), "text") == text);

    // A version 2 header (creation order tracked) moves a large attribute to dense storage.
    Id gcpl = checked(H5Pcreate(H5P_GROUP_CREATE), "gcpl");
    check(H5Pset_attr_creation_order(gcpl.get(), H5P_CRT_ORDER_TRACKED), "creation order");
    Id v2 = checked(H5Gcreate2(file.get(), "v2", H5P_DEFAULT, gcpl.get(), H5P_DEFAULT), "group");
    set_attribute(v2.get(), "big", big);
    CHECK(attribute_value(v2.get(), "big") == big);
}

namespace {

// The largest opaque scalar HDF5 itself stores as attribute `name` of `obj`.
std::size_t largest_hdf5_takes(hid_t obj, const std::string& name) {
    std::size_t fits = 1, refused = 1 << 17;
    Id space = checked(H5Screate(H5S_SCALAR), "space");
    Id acpl = checked(H5Pcreate(H5P_ATTRIBUTE_CREATE), "acpl");
    check(H5Pset_char_encoding(acpl.get(), h5swmrfs::util::valid_utf8(name) &&
                                                   std::any_of(name.begin(), name.end(), [](char c) { return c & 0x80; })
                                               ? H5T_CSET_UTF8 : H5T_CSET_ASCII),
          "encoding");
    while (refused - fits > 1) {
        const std::size_t middle = (fits + refused) / 2;
        Id type = checked(H5Tcreate(H5T_OPAQUE, middle), "opaque");
        Id attr(H5Acreate2(obj, name.c_str(), type.get(), space.get(), acpl.get(), H5P_DEFAULT));
        H5Eclear2(H5E_DEFAULT);
        (attr ? fits : refused) = middle;
        attr.reset();
        if (H5Aexists(obj, name.c_str()) > 0) check(H5Adelete(obj, name.c_str()), "delete");
    }
    return fits;
}

}  // namespace

TEST_CASE("set_attribute refuses a binary value only within 8 bytes of HDF5's own limit", "[attribute]") {
    h5test::TempDir dir;
    Id file = h5test::create_file(dir.path() / "limit.h5");
    Id g = checked(H5Gcreate2(file.get(), "g", H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT), "group");
    for (const std::string& name : std::vector<std::string>{"a", "seven77", std::string(250, 'n'), "\xC3\xA9t\xC3\xA9"}) {
        const std::size_t limit = largest_hdf5_takes(g.get(), name);
        INFO(name << ": HDF5 takes up to " << limit << " bytes");
        REQUIRE(limit > 60000);
        for (std::size_t size = limit - 10; size <= limit + 2; ++size) {
            INFO(size << " bytes");
            const std::string value = "\0"s + std::string(size - 1, 'b');
            const int err = error_code([&] { set_attribute(g.get(), name, value); });
            if (size <= limit - 8) CHECK(err == 0);
            if (size > limit) CHECK(err == EINVAL);
            CHECK((err == 0 || err == EINVAL));
            if (err == 0) {
                CHECK(attribute_value(g.get(), name) == value);
                delete_attribute(g.get(), name);
            }
        }
    }
}

TEST_CASE("attribute names may hold any byte but NUL", "[attribute]") {
    Fixture fixture;
    Id file = h5test::open_file(fixture.path, true);
    Id g = open_object(file.get(), "g");
    const std::string odd = "we\xFFird name.with/slash:and\nnewline \xE2\x98\x83";
    CHECK_FALSE(has_attribute(g.get(), odd));
    set_attribute(g.get(), odd, "1");
    CHECK(has_attribute(g.get(), odd));
    CHECK(attribute_value(g.get(), odd) == "1");
    delete_attribute(g.get(), odd);
    CHECK_FALSE(has_attribute(g.get(), odd));

    const std::string with_nul("a\0b", 3);
    CHECK(error_code([&] { set_attribute(g.get(), with_nul, "x"); }) == EINVAL);
    CHECK(error_code([&] { set_attribute(g.get(), "", "x"); }) == EINVAL);
    CHECK_FALSE(has_attribute(g.get(), with_nul));
    CHECK_FALSE(has_attribute(g.get(), ""));
    CHECK(error_code([&] { delete_attribute(g.get(), with_nul); }) == ENODATA);
}

TEST_CASE("delete_attribute removes one attribute; ENODATA when there is none", "[attribute]") {
    Fixture fixture;
    Id file = h5test::open_file(fixture.path, true);
    Id d = open_object(file.get(), "d");
    REQUIRE(has_attribute(d.get(), "comp"));
    delete_attribute(d.get(), "comp");
    CHECK_FALSE(has_attribute(d.get(), "comp"));
    CHECK(has_attribute(d.get(), "cplx"));
    CHECK(error_code([&] { delete_attribute(d.get(), "comp"); }) == ENODATA);
    CHECK(error_code([&] { delete_attribute(d.get(), "never"); }) == ENODATA);
}

TEST_CASE("set_attribute that fails changes nothing", "[attribute]") {
    Fixture fixture;
    // Creating an attribute fails in a read-only file (HDF5 lets H5Awrite change its cache).
    Id file = h5test::open_file(fixture.path, false);
    Id d = open_object(file.get(), "d");
    CHECK(error_code([&] { set_attribute(d.get(), "i32", "now text"); }) != 0);
    CHECK(error_code([&] { set_attribute(d.get(), "vlen", "other text"); }) != 0);
    CHECK(error_code([&] { set_attribute(d.get(), "fresh", "1"); }) != 0);
    CHECK(attribute_value(d.get(), "i32") == "7");
    CHECK(attribute_value(d.get(), "vlen") == "text");
    CHECK_FALSE(has_attribute(d.get(), "fresh"));
    CHECK(h5swmrfs::h5::attribute_names(d.get()).size() == 21);
}

TEST_CASE("copy_attributes copies every kind of attribute as it is", "[attribute][h5py]") {
    Fixture fixture;
    const auto other = fixture.dir.path() / "other.h5";
    {
        Id file = h5test::open_file(fixture.path, true);
        Id zoo = open_object(file.get(), "zoo");
        Id copy = checked(H5Gcreate2(file.get(), "copy", H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT), "group");
        copy_attributes(zoo.get(), copy.get());
        Id d = open_object(file.get(), "d");
        Id d_copy = checked(H5Gcreate2(file.get(), "d_copy", H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT), "group");
        copy_attributes(d.get(), d_copy.get());
        CHECK(h5swmrfs::h5::attribute_names(copy.get()) == h5swmrfs::h5::attribute_names(zoo.get()));

        // Into another file: a named datatype there is copied as a plain type.
        Id second = h5test::create_file(other);
        Id elsewhere = checked(H5Gcreate2(second.get(), "copy", H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT), "group");
        copy_attributes(zoo.get(), elsewhere.get());
    }
    auto check_all = [](const std::string& output, std::size_t expected) {
        auto rows = h5test::table(output);
        CHECK(rows.size() == expected);
        for (const auto& row : rows) {
            INFO(h5test::unhex(row.at(0)));
            CHECK(row.at(1) == "ok");
        }
    };
    const std::string file = fixture.path.string();
    check_all(h5test::run_script(H5WRITE_SCRIPTS "/attributes.py", {"compare", file, "zoo", file, "copy"}), 25);
    check_all(h5test::run_script(H5WRITE_SCRIPTS "/attributes.py", {"compare", file, "d", file, "d_copy"}), 21);
    // A reference means nothing in another file; everything else must be the same there.
    check_all(h5test::run_script(H5WRITE_SCRIPTS "/attributes.py", {"compare", file, "zoo", other.string(), "copy", "ref"}), 24);
}
