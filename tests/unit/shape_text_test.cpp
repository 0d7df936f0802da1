// The text of user.h5.shape: what parse_shape takes (what getfattr shows, plus white space
// and a Python-like trailing comma) and that everything else is EINVAL before HDF5 is asked.
#include <catch2/catch.hpp>

#include <hdf5.h>

#include <cerrno>
#include <cstdint>
#include <string>
#include <vector>

#include "h5/shape_text.h"
#include "util/error.h"

using h5swmrfs::Error;
using h5swmrfs::h5::parse_shape;
using h5swmrfs::h5::shape_text;
using Shape = std::vector<std::uint64_t>;

namespace {

// The errno parse_shape fails with, 0 when it does not.
int error_of(const std::string& text) {
    try {
        parse_shape(text);
        return 0;
    } catch (const Error& e) {
        return e.code();
    }
}

}  // namespace

TEST_CASE("parse_shape reads what getfattr shows") {
    CHECK(parse_shape("500,700") == Shape{500, 700});
    CHECK(parse_shape("12") == Shape{12});
    CHECK(parse_shape("2,3,5,7") == Shape{2, 3, 5, 7});
    CHECK(parse_shape("0") == Shape{0});  // an empty dataset's extent
    CHECK(parse_shape("4,0,3") == Shape{4, 0, 3});
    CHECK(parse_shape("007,010") == Shape{7, 10});  // decimal, leading zeros and all
    CHECK(parse_shape("") == Shape{});              // the scalar shape
}

TEST_CASE("parse_shape allows white space around extents and one trailing comma") {
    CHECK(parse_shape(" 3 , 4 ") == Shape{3, 4});
    CHECK(parse_shape("3,\t4\n") == Shape{3, 4});
    CHECK(parse_shape("\n3") == Shape{3});
    CHECK(parse_shape("5,") == Shape{5});  // like Python's (5,)
    CHECK(parse_shape("5, ") == Shape{5});
    CHECK(parse_shape("2,3,") == Shape{2, 3});
    CHECK(parse_shape(" ") == Shape{});  // blank is the scalar too
    CHECK(parse_shape(" \t\n") == Shape{});
}

TEST_CASE("parse_shape takes HDF5's largest extent and rank, and refuses one more") {
    CHECK(parse_shape("9223372036854775807") == Shape{9223372036854775807ull});  // 2^63 - 1
    CHECK(error_of("9223372036854775808") == EINVAL);                            // 2^63
    CHECK(error_of("18446744073709551615") == EINVAL);                           // 2^64 - 1: unlimited
    CHECK(error_of("1,18446744073709551614") == EINVAL);

    std::string rank_max = "1";
    for (int i = 1; i < H5S_MAX_RANK; ++i) rank_max += ",1";
    CHECK(parse_shape(rank_max) == Shape(H5S_MAX_RANK, 1));
    CHECK(parse_shape(rank_max + ",") == Shape(H5S_MAX_RANK, 1));
    CHECK(error_of(rank_max + ",1") == EINVAL);
}

TEST_CASE("parse_shape refuses anything else with EINVAL") {
    const char* bad[] = {
        // out of uint64's range
        "18446744073709551616", "99999999999999999999999", "3,18446744073709551616",
        // signs
        "-1", "4,-3", " -0", "-18446744073709551615",
        // empty extents: leading, doubled, trailing beyond one, lone commas
        ",", ",5", "5,,", "3,,4", ",,", " , ", "5, ,",
        // not decimal integers
        "a", "a,b", "3,x", "3.0", "1e3", "0x10", "3 4", "3,4 5", "inf", "nan", "3x",
        // Python tuple syntax is not the format: getfattr shows "3,4"
        "(3,4)", "(3, 4)", "(5,)", "()", "[3,4]",
        // other separators and white space the format does not allow
        "3;4", "3\r", "3 ,4x",
    };
    for (const char* text : bad) {
        INFO("text: '" << text << "'");
        CHECK(error_of(text) == EINVAL);
    }
}

TEST_CASE("parse_shape takes decimal digits only: no NUL byte, sign or other white space") {
    // setxattr passes a value with its length: "1\0" + "2" is not the extent 1.
    CHECK(error_of(std::string("1\0" "2", 3)) == EINVAL);
    CHECK(error_of(std::string("1\0", 2)) == EINVAL);
    CHECK(error_of(std::string("3,4\0", 4)) == EINVAL);
    CHECK(error_of(std::string("\0", 1)) == EINVAL);
    // strtoull would take a sign, and skip white space the format does not allow
    CHECK(error_of("+5") == EINVAL);
    CHECK(error_of("3,+4") == EINVAL);
    CHECK(error_of("\v3") == EINVAL);
    CHECK(error_of("3,\f4") == EINVAL);
    CHECK(error_of("\r3") == EINVAL);
    // and negate what follows the sign: this was the extent 1
    CHECK(error_of("\v-18446744073709551615") == EINVAL);
}

TEST_CASE("parse_shape's error names the value") {
    try {
        parse_shape("3,x");
        FAIL("no error");
    } catch (const Error& e) {
        CHECK(e.code() == EINVAL);
        CHECK(std::string(e.what()).find("'3,x'") != std::string::npos);
    }
}

TEST_CASE("shape_text is what parse_shape reads back") {
    for (const Shape& shape : {Shape{}, Shape{0}, Shape{5}, Shape{500, 700}, Shape{2, 3, 5, 7},
                               Shape{9223372036854775807ull, 1}}) {
        INFO("text: " << shape_text(shape));
        CHECK(parse_shape(shape_text(shape)) == shape);
    }
    CHECK(shape_text({500, 700}) == "500,700");
    CHECK(shape_text({}) == "");
}

TEST_CASE("shape_text shows unlimited extents as inf only for maxshape") {
    CHECK(shape_text({H5S_UNLIMITED, 7}, true) == "inf,7");
    CHECK(shape_text({H5S_UNLIMITED, 7}) == "18446744073709551615,7");
    CHECK(error_of(shape_text({H5S_UNLIMITED, 7}, true)) == EINVAL);  // not a shape one can set
}
