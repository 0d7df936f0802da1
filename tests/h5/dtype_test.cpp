// byte_form() against h5py: for every kind of file datatype, the user.h5.dtype string and the
// bytes H5Dread gives into our memory type must equal what h5py 3.7 gives (tests/h5/h5py_view.py),
// in this host's byte order. Files are made both with the C API and by h5py itself.
#include <catch2/catch.hpp>

#include <bit>
#include <cstdint>
#include <cstring>
#include <functional>
#include <limits>
#include <map>
#include <string>
#include <vector>

#include "h5/dtype.h"
#include "support.h"

using h5swmrfs::Error;
using h5swmrfs::h5::byte_form;
using h5swmrfs::h5::ByteForm;
using h5swmrfs::h5::check;
using h5swmrfs::h5::checked;
using h5test::Id;

namespace {

constexpr char host = std::endian::native == std::endian::little ? '<' : '>';

// ---- building file datatypes with the C API ---------------------------------------------------

Id copy(hid_t type) { return checked(H5Tcopy(type), "copy type"); }

Id ordered(hid_t type, H5T_order_t order) {
    Id out = copy(type);
    check(H5Tset_order(out.get(), order), "set order");
    return out;
}

Id half(H5T_order_t order) {
    Id out = copy(H5T_IEEE_F32LE);
    check(H5Tset_fields(out.get(), 15, 10, 5, 0, 10), "half fields");
    check(H5Tset_size(out.get(), 2), "half size");
    check(H5Tset_ebias(out.get(), 15), "half bias");
    check(H5Tset_order(out.get(), order), "half order");
    return out;
}

// A 2-byte float with float32's exponent (bfloat16): h5py widens it to <f4.
Id bfloat16() {
    Id out = copy(H5T_IEEE_F32LE);
    check(H5Tset_fields(out.get(), 15, 7, 8, 0, 7), "bfloat16 fields");
    check(H5Tset_size(out.get(), 2), "bfloat16 size");
    check(H5Tset_ebias(out.get(), 127), "bfloat16 bias");
    return out;
}

// IEEE binary128: no numpy float holds it.
Id quad() {
    Id out = copy(H5T_IEEE_F64BE);
    check(H5Tset_size(out.get(), 16), "quad size");
    check(H5Tset_precision(out.get(), 128), "quad precision");
    check(H5Tset_fields(out.get(), 127, 112, 15, 0, 112), "quad fields");
    check(H5Tset_ebias(out.get(), 16383), "quad bias");
    return out;
}

// A 12-bit integer stored in 2 big-endian bytes at bit offset 2.
Id narrow_int() {
    Id out = copy(H5T_STD_I16BE);
    check(H5Tset_precision(out.get(), 12), "precision");
    check(H5Tset_offset(out.get(), 2), "offset");
    return out;
}

Id fixed_string(std::size_t size, H5T_str_t pad, H5T_cset_t cset = H5T_CSET_ASCII) {
    Id out = copy(H5T_C_S1);
    check(H5Tset_size(out.get(), size), "string size");
    check(H5Tset_strpad(out.get(), pad), "string pad");
    check(H5Tset_cset(out.get(), cset), "string cset");
    return out;
}

Id vlen_string(H5T_cset_t cset) {
    Id out = copy(H5T_C_S1);
    check(H5Tset_size(out.get(), H5T_VARIABLE), "vlen size");
    check(H5Tset_cset(out.get(), cset), "vlen cset");
    return out;
}

Id enumeration(hid_t base, const std::vector<std::pair<std::string, long long>>& members) {
    Id out = checked(H5Tenum_create(base), "enum");
    for (const auto& [name, value] : members) {
        unsigned char buf[16] = {};
        std::memcpy(buf, &value, sizeof value);
        check(H5Tconvert(H5T_NATIVE_LLONG, base, 1, buf, nullptr, H5P_DEFAULT), "enum value");
        check(H5Tenum_insert(out.get(), name.c_str(), buf), "enum insert");
    }
    return out;
}

Id opaque(std::size_t size, const char* tag) {
    Id out = checked(H5Tcreate(H5T_OPAQUE, size), "opaque");
    if (tag) check(H5Tset_tag(out.get(), tag), "opaque tag");
    return out;
}

Id array(const Id& base, std::vector<hsize_t> dims) {
    return checked(H5Tarray_create2(base.get(), static_cast<unsigned>(dims.size()), dims.data()), "array");
}

struct Field {
    std::string name;
    std::size_t offset;
    Id type;
};

Id compound(std::size_t size, std::vector<Field> fields) {
    Id out = checked(H5Tcreate(H5T_COMPOUND, size), "compound");
    for (const auto& f : fields) check(H5Tinsert(out.get(), f.name.c_str(), f.offset, f.type.get()), "insert " + f.name);
    return out;
}

std::vector<Field> fields_of(std::initializer_list<std::tuple<const char*, std::size_t, hid_t>> list) {
    std::vector<Field> out;
    for (const auto& [name, offset, type] : list) out.push_back({name, offset, copy(type)});
    return out;
}

// ---- the cases --------------------------------------------------------------------------------

enum class Data { Random, Bool, Strings, VlenStrings, None };

struct TypeCase {
    std::string name;
    std::function<Id()> make;
    Data data = Data::Random;
    std::vector<hsize_t> shape = {5};  // empty: scalar
    const char* h5py_read = "h5py";    // "raw": h5py cannot read it, we give the stored bytes
    bool unsupported = false;          // byte_form must throw ENOTSUP
};

Id bool_enum(hid_t base) { return enumeration(base, {{"FALSE", 0}, {"TRUE", 1}}); }

const std::vector<TypeCase>& type_cases() {
    static const std::vector<TypeCase> cases = [] {
        std::vector<TypeCase> c;
        struct Int { const char* name; hid_t le; hid_t be; };
        for (const Int& i : {Int{"i1", H5T_STD_I8LE, H5T_STD_I8BE}, Int{"u1", H5T_STD_U8LE, H5T_STD_U8BE},
                             Int{"i2", H5T_STD_I16LE, H5T_STD_I16BE}, Int{"u2", H5T_STD_U16LE, H5T_STD_U16BE},
                             Int{"i4", H5T_STD_I32LE, H5T_STD_I32BE}, Int{"u4", H5T_STD_U32LE, H5T_STD_U32BE},
                             Int{"i8", H5T_STD_I64LE, H5T_STD_I64BE}, Int{"u8", H5T_STD_U64LE, H5T_STD_U64BE}}) {
            hid_t le = i.le, be = i.be;
            c.push_back({std::string(i.name) + "le", [le] { return copy(le); }});
            c.push_back({std::string(i.name) + "be", [be] { return copy(be); }});
        }
        c.push_back({"i12in2", narrow_int});
        c.push_back({"f2le", [] { return half(H5T_ORDER_LE); }});
        c.push_back({"f2be", [] { return half(H5T_ORDER_BE); }});
        c.push_back({"f4le", [] { return copy(H5T_IEEE_F32LE); }});
        c.push_back({"f4be", [] { return copy(H5T_IEEE_F32BE); }});
        c.push_back({"f8le", [] { return copy(H5T_IEEE_F64LE); }});
        c.push_back({"f8be", [] { return copy(H5T_IEEE_F64BE); }});
        c.push_back({"ldouble", [] { return copy(H5T_NATIVE_LDOUBLE); }});
        c.push_back({"ldouble_be", [] { return ordered(H5T_NATIVE_LDOUBLE, H5T_ORDER_BE); }});
        c.push_back({"bfloat16", bfloat16});
        c.push_back({"quad", quad, Data::None, {5}, "h5py", true});
        c.push_back({"b8", [] { return copy(H5T_STD_B8LE); }});
        c.push_back({"b16le", [] { return copy(H5T_STD_B16LE); }});
        c.push_back({"b16be", [] { return copy(H5T_STD_B16BE); }});
        c.push_back({"b32be", [] { return copy(H5T_STD_B32BE); }});
        c.push_back({"b64le", [] { return copy(H5T_STD_B64LE); }});
        c.push_back({"enum_i4be", [] { return enumeration(H5T_STD_I32BE, {{"A", 0}, {"B", 7}, {"C", -3}}); }});
        c.push_back({"enum_u1", [] { return enumeration(H5T_STD_U8LE, {{"X", 1}, {"Y", 250}}); }});
        c.push_back({"enum_u8be", [] { return enumeration(H5T_STD_U64BE, {{"BIG", 1LL << 40}}); }});
        c.push_back({"bool", [] { return bool_enum(H5T_NATIVE_INT8); }, Data::Bool});
        c.push_back({"bool_i4be", [] { return bool_enum(H5T_STD_I32BE); }, Data::Bool});
        c.push_back({"bool_u1", [] { return bool_enum(H5T_STD_U8LE); }, Data::Bool});
        c.push_back({"not_bool", [] { return enumeration(H5T_NATIVE_INT8, {{"FALSE", 1}, {"TRUE", 0}}); }});
        c.push_back({"not_bool_3", [] { return enumeration(H5T_NATIVE_INT8, {{"FALSE", 0}, {"TRUE", 1}, {"MAYBE", 2}}); }});
        c.push_back({"s_nullterm", [] { return fixed_string(6, H5T_STR_NULLTERM); }, Data::Strings});
        c.push_back({"s_nullpad", [] { return fixed_string(6, H5T_STR_NULLPAD); }, Data::Strings});
        c.push_back({"s_spacepad", [] { return fixed_string(6, H5T_STR_SPACEPAD); }, Data::Strings});
        c.push_back({"s_utf8", [] { return fixed_string(6, H5T_STR_NULLTERM, H5T_CSET_UTF8); }, Data::Strings});
        c.push_back({"s1", [] { return fixed_string(1, H5T_STR_NULLPAD); }});
        c.push_back({"opaque", [] { return opaque(8, nullptr); }});
        c.push_back({"opaque_tagged", [] { return opaque(3, "my tag"); }, Data::Random, {5}, "raw"});
        c.push_back({"opaque_numpy", [] { return opaque(8, "NUMPY:<m8[s]"); }});
        c.push_back({"array_i4be", [] { return array(copy(H5T_STD_I32BE), {3}); }});
        c.push_back({"array_f8_2x3", [] { return array(copy(H5T_IEEE_F64LE), {2, 3}); }});
        c.push_back({"array_of_array", [] { return array(array(copy(H5T_STD_I16BE), {3}), {2}); }});
        c.push_back({"array_of_bool", [] { return array(bool_enum(H5T_NATIVE_INT8), {4}); }, Data::Bool});
        c.push_back({"array_of_string", [] { return array(fixed_string(3, H5T_STR_NULLTERM), {2}); }});
        c.push_back({"array_of_enum", [] { return array(enumeration(H5T_STD_I16BE, {{"A", 5}}), {2}); }});
        c.push_back({"array_of_compound", [] {
            return array(compound(5, fields_of({{"a", 0, H5T_STD_I32BE}, {"b", 4, H5T_STD_U8LE}})), {2});
        }});
        c.push_back({"compound_packed", [] {
            return compound(12, fields_of({{"a", 0, H5T_STD_I32BE}, {"b", 4, H5T_IEEE_F64LE}}));
        }});
        c.push_back({"compound_padded", [] {
            return compound(24, fields_of({{"a", 2, H5T_STD_I32BE}, {"b", 8, H5T_IEEE_F64BE}}));
        }});
        c.push_back({"compound_out_of_order", [] {
            return compound(16, fields_of({{"late", 8, H5T_STD_I64BE}, {"early", 0, H5T_STD_I16LE}}));
        }});
        c.push_back({"compound_nested", [] {
            std::vector<Field> f = fields_of({{"x", 0, H5T_STD_I16BE}});
            f.push_back({"inner", 4, compound(12, fields_of({{"p", 0, H5T_STD_U8LE}, {"q", 4, H5T_IEEE_F32BE}}))});
            f.push_back({"tail", 16, fixed_string(3, H5T_STR_SPACEPAD)});
            return compound(20, std::move(f));
        }});
        c.push_back({"compound_arrays", [] {
            std::vector<Field> f;
            f.push_back({"m", 0, array(copy(H5T_IEEE_F32BE), {2, 3})});
            f.push_back({"v", 24, array(copy(H5T_STD_U16BE), {4})});
            f.push_back({"ac", 32, array(compound(4, fields_of({{"k", 0, H5T_STD_I32BE}})), {2})});
            f.push_back({"aa", 40, array(array(copy(H5T_STD_I16BE), {2}), {3})});
            return compound(52, std::move(f));
        }});
        c.push_back({"compound_kinds", [] {
            std::vector<Field> f;
            f.push_back({"flag", 0, bool_enum(H5T_STD_I32BE)});
            f.push_back({"color", 4, enumeration(H5T_STD_I16BE, {{"RED", 0}, {"BLUE", 9}})});
            f.push_back({"bits", 6, copy(H5T_STD_B16BE)});
            f.push_back({"tag", 8, opaque(3, nullptr)});
            f.push_back({"text", 11, fixed_string(5, H5T_STR_NULLTERM)});
            f.push_back({"half", 16, half(H5T_ORDER_BE)});
            return compound(18, std::move(f));
        }});
        c.push_back({"compound_names", [] {
            return compound(7, fields_of({{"it's", 0, H5T_STD_I8LE}, {"say \"hi\"", 1, H5T_STD_I8LE},
                                          {"both'\"", 2, H5T_STD_I8LE}, {"caf\xc3\xa9 \xe2\x82\xac", 3, H5T_STD_I8LE},
                                          {"tab\tnl\n\\", 4, H5T_STD_I8LE}, {"\x01\x7f", 5, H5T_STD_I8LE},
                                          {"nb\xc2\xa0sp\xe2\x80\x8b", 6, H5T_STD_I8LE}}));
        }});
        c.push_back({"complex_f8be", [] {
            return compound(16, fields_of({{"r", 0, H5T_IEEE_F64BE}, {"i", 8, H5T_IEEE_F64BE}}));
        }});
        c.push_back({"complex_f4_padded", [] {
            return compound(12, fields_of({{"r", 0, H5T_IEEE_F32LE}, {"i", 8, H5T_IEEE_F32LE}}));
        }});
        c.push_back({"complex_swapped", [] {
            return compound(16, fields_of({{"r", 8, H5T_IEEE_F64LE}, {"i", 0, H5T_IEEE_F64LE}}));
        }});
        c.push_back({"not_complex_orders", [] {
            return compound(8, fields_of({{"r", 0, H5T_IEEE_F32LE}, {"i", 4, H5T_IEEE_F32BE}}));
        }});
        c.push_back({"not_complex_ints", [] {
            return compound(8, fields_of({{"r", 0, H5T_STD_I32LE}, {"i", 4, H5T_STD_I32LE}}));
        }});
        c.push_back({"complex_in_compound", [] {
            std::vector<Field> f = fields_of({{"n", 0, H5T_STD_U8LE}});
            f.push_back({"z", 8, compound(8, fields_of({{"r", 0, H5T_IEEE_F32BE}, {"i", 4, H5T_IEEE_F32BE}}))});
            return compound(16, std::move(f));
        }});
        c.push_back({"vlen_ascii", [] { return vlen_string(H5T_CSET_ASCII); }, Data::VlenStrings});
        c.push_back({"vlen_utf8", [] { return vlen_string(H5T_CSET_UTF8); }, Data::VlenStrings});
        c.push_back({"vlen_scalar", [] { return vlen_string(H5T_CSET_UTF8); }, Data::VlenStrings, {}});
        c.push_back({"scalar_i4be", [] { return copy(H5T_STD_I32BE); }, Data::Random, {}});
        c.push_back({"matrix_f8be", [] { return copy(H5T_IEEE_F64BE); }, Data::Random, {3, 4}});
        c.push_back({"vlen_sequence", [] { return checked(H5Tvlen_create(H5T_NATIVE_INT), "vlen"); },
                     Data::None, {5}, "h5py", true});
        c.push_back({"reference", [] { return copy(H5T_STD_REF_OBJ); }, Data::None, {5}, "h5py", true});
        c.push_back({"vlen_in_compound", [] {
            std::vector<Field> f = fields_of({{"n", 0, H5T_STD_I32LE}});
            f.push_back({"s", 8, vlen_string(H5T_CSET_UTF8)});
            return compound(8 + sizeof(char*), std::move(f));
        }, Data::None, {5}, "h5py", true});
        c.push_back({"vlen_in_array", [] { return array(vlen_string(H5T_CSET_ASCII), {2}); },
                     Data::None, {5}, "h5py", true});
        return c;
    }();
    return cases;
}

hsize_t element_count(const std::vector<hsize_t>& shape) {
    hsize_t n = 1;
    for (hsize_t d : shape) n *= d;
    return n;
}

const std::vector<const char*> vlen_texts = {"", "h\xc3\xa9llo", "a,b", "line\nbreak", "x"};

void write_case(hid_t file, const TypeCase& c, std::uint32_t seed) {
    Id type = c.make();
    Id space = c.shape.empty()
                   ? checked(H5Screate(H5S_SCALAR), "scalar space")
                   : checked(H5Screate_simple(static_cast<int>(c.shape.size()), c.shape.data(), nullptr), "space");
    Id ds = checked(H5Dcreate2(file, c.name.c_str(), type.get(), space.get(), H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT),
                    "create " + c.name);
    std::size_t n = element_count(c.shape);
    std::size_t size = H5Tget_size(type.get());
    switch (c.data) {
        case Data::None: return;
        case Data::Random: {
            // Written with the file type itself: the file holds exactly these bytes.
            std::string bytes = h5test::pseudo_random_bytes(n * size, seed);
            check(H5Dwrite(ds.get(), type.get(), H5S_ALL, H5S_ALL, H5P_DEFAULT, bytes.data()), "write " + c.name);
            return;
        }
        case Data::Bool: {
            Id memory_bool = bool_enum(H5T_NATIVE_INT8);
            Id memory = H5Tget_class(type.get()) == H5T_ARRAY ? array(memory_bool, {4}) : std::move(memory_bool);
            std::string bits = h5test::pseudo_random_bytes(n * H5Tget_size(memory.get()), seed);
            for (auto& b : bits) b = static_cast<char>(b & 1);
            check(H5Dwrite(ds.get(), memory.get(), H5S_ALL, H5S_ALL, H5P_DEFAULT, bits.data()), "write " + c.name);
            return;
        }
        case Data::Strings: {
            std::string bytes = std::string("abcdef") + std::string("ab\0cd\0", 6) + std::string("ab  \0 ", 6) +
                                "a b   " + std::string(6, '\0');
            check(H5Dwrite(ds.get(), type.get(), H5S_ALL, H5S_ALL, H5P_DEFAULT, bytes.data()), "write " + c.name);
            return;
        }
        case Data::VlenStrings:
            check(H5Dwrite(ds.get(), type.get(), H5S_ALL, H5S_ALL, H5P_DEFAULT, vlen_texts.data() + (n == 1 ? 1 : 0)),
                  "write " + c.name);
            return;
    }
}

// What tests/h5/h5py_view.py says about each dataset of a file, by path.
struct H5pyView {
    std::string dtype;
    std::string hex;
    std::string how;
};

std::map<std::string, H5pyView> h5py_view(const std::filesystem::path& file) {
    std::map<std::string, H5pyView> out;
    for (auto& row : h5test::table(h5test::run_script(H5TEST_SCRIPTS "/h5py_view.py", {"datasets", file.string()}))) {
        if (row.size() < 3) continue;
        out[row[0]] = {row[1], row[2], row.size() > 3 ? row[3] : ""};
    }
    return out;
}

// The dataset's bytes as the mount presents them; vlen strings as text lines.
std::string read_through(hid_t ds, const ByteForm& form) {
    Id space = checked(H5Dget_space(ds), "space");
    auto n = static_cast<std::size_t>(H5Sget_simple_extent_npoints(space.get()));
    if (form.vlen_string) {
        std::vector<char*> strings(n, nullptr);
        check(H5Dread(ds, form.memory_type.get(), H5S_ALL, H5S_ALL, H5P_DEFAULT, strings.data()), "read");
        std::string out;
        for (char* s : strings) out += std::string(s ? s : "") + "\n";
        check(H5Dvlen_reclaim(form.memory_type.get(), space.get(), H5P_DEFAULT, strings.data()), "reclaim");
        return out;
    }
    std::string bytes(n * form.element_size, '\0');
    check(H5Dread(ds, form.memory_type.get(), H5S_ALL, H5S_ALL, H5P_DEFAULT, bytes.data()), "read");
    return bytes;
}

// A file and h5py's view of it, made once for all sections and generated values.
struct CaseFile {
    h5test::TempDir dir;
    std::filesystem::path path;
    std::map<std::string, H5pyView> view;

    explicit CaseFile(const std::function<void(const std::filesystem::path&)>& make)
        : path(dir.path() / "types.h5") {
        make(path);
        view = h5py_view(path);
    }
};

// Every case of type_cases(), each as the dataset /NAME.
const CaseFile& case_file() {
    static const CaseFile made([](const std::filesystem::path& path) {
        Id file = h5test::create_file(path);
        std::uint32_t seed = 1;
        for (const auto& c : type_cases()) write_case(file.get(), c, seed++);
    });
    return made;
}

const CaseFile& h5py_made_file() {
    static const CaseFile made([](const std::filesystem::path& path) {
        h5test::run_script(H5TEST_SCRIPTS "/make_h5py_types.py", {path.string()});
    });
    return made;
}

void check_against_h5py(hid_t file, const std::string& path, const H5pyView& expected) {
    INFO("dataset " << path << ", h5py: " << expected.dtype);
    Id ds = checked(H5Dopen2(file, path.c_str(), H5P_DEFAULT), "open " + path);
    Id type = checked(H5Dget_type(ds.get()), "type");
    ByteForm form = byte_form(type.get());
    CHECK(form.numpy == expected.dtype);
    CHECK(form.element_size == H5Tget_size(form.memory_type.get()));
    CHECK(form.vlen_string == (expected.dtype == "|O"));
    CHECK(h5test::hex(read_through(ds.get(), form)) == expected.hex);
}

}  // namespace

TEST_CASE("byte_form matches h5py for datatypes made with the C API", "[dtype]") {
    const CaseFile& f = case_file();
    Id file = h5test::open_file(f.path);
    const TypeCase& c = GENERATE(from_range(type_cases()));
    INFO("case " << c.name);
    const std::string path = "/" + c.name;
    if (c.unsupported) {
        Id ds = checked(H5Dopen2(file.get(), path.c_str(), H5P_DEFAULT), "open");
        Id type = checked(H5Dget_type(ds.get()), "type");
        try {
            byte_form(type.get());
            FAIL("byte_form accepted " << c.name);
        } catch (const Error& e) {
            CHECK(e.code() == ENOTSUP);
            CHECK(std::string(e.what()).find("not supported") != std::string::npos);
        }
        return;
    }
    REQUIRE(f.view.count(path) == 1);
    const H5pyView& expected = f.view.at(path);
    REQUIRE(expected.dtype != "ERROR");
    CHECK(expected.how == c.h5py_read);
    check_against_h5py(file.get(), path, expected);
}

TEST_CASE("byte_form matches h5py for datatypes h5py made", "[dtype]") {
    const CaseFile& f = h5py_made_file();
    Id file = h5test::open_file(f.path);
    REQUIRE(f.view.size() >= 30);
    std::vector<std::string> paths;
    for (const auto& [path, view] : f.view) paths.push_back(path);
    const std::string& path = GENERATE_COPY(from_range(paths));
    const H5pyView& expected = f.view.at(path);
    CHECK(expected.how == "h5py");
    check_against_h5py(file.get(), path, expected);
}

// Expectations straight from numpy's documentation of dtype.str, independent of h5py.
TEST_CASE("byte_form strings are numpy's", "[dtype]") {
    auto numpy_of = [](const Id& type) { return byte_form(type.get()).numpy; };
    std::string h(1, host);
    CHECK(numpy_of(copy(H5T_STD_U8BE)) == "|u1");
    CHECK(numpy_of(copy(H5T_STD_I64BE)) == h + "i8");
    CHECK(numpy_of(copy(H5T_IEEE_F32BE)) == h + "f4");
    CHECK(numpy_of(half(H5T_ORDER_BE)) == h + "f2");
    CHECK(numpy_of(copy(H5T_NATIVE_LDOUBLE)) == h + "f" + std::to_string(sizeof(long double)));
    CHECK(numpy_of(bool_enum(H5T_NATIVE_INT8)) == "|b1");
    CHECK(numpy_of(fixed_string(16, H5T_STR_NULLTERM)) == "|S16");
    CHECK(numpy_of(opaque(8, nullptr)) == "|V8");
    CHECK(numpy_of(array(copy(H5T_STD_I32BE), {3})) == "(3,)" + h + "i4");
    CHECK(numpy_of(array(copy(H5T_IEEE_F64LE), {2, 3})) == "(2, 3)" + h + "f8");
    CHECK(numpy_of(compound(16, fields_of({{"a", 0, H5T_STD_I32BE}, {"b", 8, H5T_IEEE_F64BE}}))) ==
          "[('a', '" + h + "i4'), ('', '|V4'), ('b', '" + h + "f8')]");
    CHECK(numpy_of(vlen_string(H5T_CSET_UTF8)) == "|O");
}

TEST_CASE("byte_form memory types", "[dtype]") {
    SECTION("numbers are native and of the file's size") {
        ByteForm f = byte_form(copy(H5T_STD_I32BE).get());
        CHECK(H5Tequal(f.memory_type.get(), H5T_NATIVE_INT32) > 0);
        CHECK(f.element_size == 4);
        CHECK_FALSE(f.vlen_string);
        CHECK(H5Tequal(byte_form(copy(H5T_IEEE_F64BE).get()).memory_type.get(), H5T_NATIVE_DOUBLE) > 0);
        CHECK(H5Tequal(byte_form(copy(H5T_NATIVE_LDOUBLE).get()).memory_type.get(), H5T_NATIVE_LDOUBLE) > 0);
    }
    SECTION("enums read as their base integers, keeping values that name no member") {
        ByteForm f = byte_form(enumeration(H5T_STD_I16BE, {{"A", 1}}).get());
        CHECK(H5Tequal(f.memory_type.get(), H5T_NATIVE_INT16) > 0);
    }
    SECTION("fixed strings read NULLPAD in the file's character set") {
        ByteForm f = byte_form(fixed_string(7, H5T_STR_SPACEPAD, H5T_CSET_UTF8).get());
        CHECK(H5Tget_strpad(f.memory_type.get()) == H5T_STR_NULLPAD);
        CHECK(H5Tget_cset(f.memory_type.get()) == H5T_CSET_UTF8);
        CHECK(f.element_size == 7);
    }
    SECTION("variable-length strings read as C strings of the same character set") {
        ByteForm f = byte_form(vlen_string(H5T_CSET_UTF8).get());
        CHECK(f.vlen_string);
        CHECK(H5Tis_variable_str(f.memory_type.get()) > 0);
        CHECK(H5Tget_cset(f.memory_type.get()) == H5T_CSET_UTF8);
        CHECK(f.element_size == sizeof(char*));
    }
    SECTION("compounds keep size and offsets") {
        ByteForm f = byte_form(compound(24, fields_of({{"a", 2, H5T_STD_I32BE}, {"b", 8, H5T_IEEE_F64BE}})).get());
        CHECK(f.element_size == 24);
        CHECK(H5Tget_member_offset(f.memory_type.get(), 0) == 2);
        CHECK(H5Tget_member_offset(f.memory_type.get(), 1) == 8);
    }
    SECTION("time types are refused") {
        CHECK_THROWS_MATCHES(byte_form(copy(H5T_UNIX_D32LE).get()), Error,
                             Catch::Predicate<Error>([](const Error& e) { return e.code() == ENOTSUP; }));
    }
}

// Known values written through HDF5's own conversion into either file byte order must come
// back through byte_form() as the same native values.
TEMPLATE_TEST_CASE("numbers of every width come back native from either byte order", "[dtype]", std::int8_t,
                   std::uint8_t, std::int16_t, std::uint16_t, std::int32_t, std::uint32_t, std::int64_t,
                   std::uint64_t, float, double, long double) {
    using T = TestType;
    using L = std::numeric_limits<T>;
    hid_t native = std::is_same_v<T, std::int8_t>     ? H5T_NATIVE_INT8
                   : std::is_same_v<T, std::uint8_t>  ? H5T_NATIVE_UINT8
                   : std::is_same_v<T, std::int16_t>  ? H5T_NATIVE_INT16
                   : std::is_same_v<T, std::uint16_t> ? H5T_NATIVE_UINT16
                   : std::is_same_v<T, std::int32_t>  ? H5T_NATIVE_INT32
                   : std::is_same_v<T, std::uint32_t> ? H5T_NATIVE_UINT32
                   : std::is_same_v<T, std::int64_t>  ? H5T_NATIVE_INT64
                   : std::is_same_v<T, std::uint64_t> ? H5T_NATIVE_UINT64
                   : std::is_same_v<T, float>         ? H5T_NATIVE_FLOAT
                   : std::is_same_v<T, double>        ? H5T_NATIVE_DOUBLE
                                                      : H5T_NATIVE_LDOUBLE;
    H5T_order_t order = GENERATE(H5T_ORDER_LE, H5T_ORDER_BE);
    std::vector<T> values = {T(0), T(1), L::min(), L::max(), L::lowest(), T(42)};
    if constexpr (L::is_signed) values.push_back(T(-1));
    if constexpr (!L::is_integer) values.insert(values.end(), {T(0.1), T(-2.5), L::infinity(), -L::denorm_min()});

    h5test::TempDir dir;
    Id file = h5test::create_file(dir.path() / "numbers.h5");
    Id file_type = ordered(native, order);
    hsize_t n = values.size();
    Id space = checked(H5Screate_simple(1, &n, nullptr), "space");
    Id ds = checked(H5Dcreate2(file.get(), "v", file_type.get(), space.get(), H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT),
                    "create");
    check(H5Dwrite(ds.get(), native, H5S_ALL, H5S_ALL, H5P_DEFAULT, values.data()), "write");

    Id stored_type = checked(H5Dget_type(ds.get()), "type");
    ByteForm form = byte_form(stored_type.get());
    char kind = !L::is_integer ? 'f' : L::is_signed ? 'i' : 'u';
    CHECK(form.numpy == (sizeof(T) == 1 ? '|' : host) + std::string(1, kind) + std::to_string(sizeof(T)));
    REQUIRE(form.element_size == sizeof(T));
    std::vector<T> back(values.size());
    check(H5Dread(ds.get(), form.memory_type.get(), H5S_ALL, H5S_ALL, H5P_DEFAULT, back.data()), "read");
    for (std::size_t i = 0; i < values.size(); ++i) {
        INFO("value " << i);
        CHECK(back[i] == values[i]);
    }
}
