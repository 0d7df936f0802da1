// parse_npy_header(): files numpy.save writes, their truncations, and broken headers.
#include <catch2/catch.hpp>

#include <cstring>
#include <string>
#include <vector>

#include "h5/dtype.h"
#include "h5/numpy.h"
#include "support.h"

namespace {

using h5swmrfs::Error;
using h5swmrfs::h5::Id;
using h5swmrfs::h5::NpyHeader;
using h5swmrfs::h5::numpy_type;
using h5swmrfs::h5::parse_npy_header;

std::optional<NpyHeader> parse(const std::string& content) {
    return parse_npy_header(std::span(reinterpret_cast<const std::byte*>(content.data()), content.size()));
}

// .npy content with this version and header text (no data).
std::string npy(int major, const std::string& header, int minor = 0) {
    std::string out = "\x93NUMPY";
    out += static_cast<char>(major);
    out += static_cast<char>(minor);
    std::size_t length = header.size();
    for (int i = 0; i < (major == 1 ? 2 : 4); ++i) out += static_cast<char>((length >> (8 * i)) & 0xFF);
    return out + header;
}

std::string repeated(const std::string& text, int times) {
    std::string out;
    for (int i = 0; i < times; ++i) out += text;
    return out;
}

const std::string kGood = "{'descr': '<f8', 'fortran_order': False, 'shape': (3, 4), }";

// The EINVAL message parsing `content` gives, or "" when it does not fail that way.
std::string rejection(const std::string& content) {
    try {
        parse(content);
    } catch (const Error& e) {
        if (e.code() == EINVAL) return e.what();
    }
    return "";
}

std::vector<std::uint64_t> shape_of(const std::string& text) {
    std::vector<std::uint64_t> shape;
    for (std::size_t start = 0; start < text.size();) {
        std::size_t comma = text.find(',', start);
        if (comma == std::string::npos) comma = text.size();
        shape.push_back(std::stoull(text.substr(start, comma - start)));
        start = comma + 1;
    }
    return shape;
}

}  // namespace

TEST_CASE("parse_npy_header reads what numpy.save writes", "[npy][numpy]") {
    h5test::TempDir dir;
    auto rows = h5test::table(h5test::run_script(H5WRITE_SCRIPTS "/npy_files.py", {dir.path().string()}));
    REQUIRE(rows.size() >= 16);
    for (const auto& row : rows) {
        const std::string& name = row.at(0);
        INFO(name);
        const std::string content = h5test::read_file(dir.path() / (name + ".npy"));
        auto header = parse(content);
        REQUIRE(header);
        CHECK(header->dtype == h5test::unhex(row.at(1)));
        CHECK(header->shape == shape_of(row.at(2)));
        CHECK(header->fortran_order == (row.at(3) == "1"));
        CHECK(header->data_offset == std::stoull(row.at(4)));
        CHECK(H5Tget_size(numpy_type(header->dtype).get()) == std::stoull(row.at(5)));

        // Cut anywhere inside the header, it is malformed; cut after it, the header is whole.
        std::vector<std::size_t> cuts;
        for (std::size_t cut = 6; cut < header->data_offset; cut += header->data_offset > 4096 ? 997 : 1)
            cuts.push_back(cut);
        cuts.push_back(header->data_offset - 1);
        for (std::size_t cut : cuts) {
            INFO("cut at " << cut);
            CHECK(rejection(content.substr(0, cut)) != "");
        }
        CHECK(parse(content.substr(0, header->data_offset))->data_offset == header->data_offset);
    }
}

TEST_CASE("parse_npy_header: content without the magic is not .npy", "[npy][numpy]") {
    for (const std::string& content : {std::string(), std::string("hello world"), std::string("\x93NUMP"),
                                       std::string("\x93numpy\x01\x00"), std::string("\x89PNG\r\n\x1a\n"),
                                       std::string("NUMPY\x01\x00") + kGood}) {
        CHECK_FALSE(parse(content));
    }
}

TEST_CASE("parse_npy_header: the largest shapes HDF5 takes", "[npy][numpy]") {
    auto rank32 = parse(npy(1, "{'descr': '|u1', 'fortran_order': False, 'shape': (" + repeated("1, ", 32) + "), }"));
    REQUIRE(rank32);
    CHECK(rank32->shape == std::vector<std::uint64_t>(32, 1));
    auto widest = parse(npy(1, "{'descr': '|u1', 'fortran_order': False, 'shape': (0, 9223372036854775807), }"));
    REQUIRE(widest);
    CHECK(widest->shape == std::vector<std::uint64_t>{0, 9223372036854775807u});
}

TEST_CASE("parse_npy_header: header forms numpy reads", "[npy][numpy]") {
    auto header = parse(npy(1, kGood + "   \n"));
    REQUIRE(header);
    CHECK(header->dtype == "<f8");
    CHECK(header->shape == std::vector<std::uint64_t>{3, 4});
    CHECK_FALSE(header->fortran_order);
    CHECK(header->data_offset == 10 + kGood.size() + 4);

    header = parse(npy(1, R"({"shape": (), "fortran_order": True, "descr": "|u1"})"));
    REQUIRE(header);
    CHECK(header->shape.empty());
    CHECK(header->fortran_order);
    CHECK(header->dtype == "|u1");

    // Python 2's numpy wrote longs.
    header = parse(npy(1, "{'descr': '<i4', 'fortran_order': False, 'shape': (3L, 4L), }\n"));
    REQUIRE(header);
    CHECK(header->shape == std::vector<std::uint64_t>{3, 4});

    // Structured: the list as written, which numpy_type reads.
    const std::string structured =
        "{'descr': [('a', '<i4'), ('', '|V4'), ('b', '<f8', (2,))], 'fortran_order': False, 'shape': (5,), }\n";
    header = parse(npy(2, structured));
    REQUIRE(header);
    CHECK(header->dtype == "[('a', '<i4'), ('', '|V4'), ('b', '<f8', (2,))]");
    CHECK(header->shape == std::vector<std::uint64_t>{5});
    CHECK(header->data_offset == 12 + structured.size());

    // Versions 1.0 and 2.0 are latin-1: a field name's é arrives as UTF-8.
    header = parse(npy(1, "{'descr': [('caf\xE9', '<f4')], 'fortran_order': False, 'shape': (1,), }\n"));
    REQUIRE(header);
    CHECK(header->dtype == "[('caf\xC3\xA9', '<f4')]");
    header = parse(npy(3, "{'descr': [('caf\xC3\xA9', '<f4')], 'fortran_order': False, 'shape': (1,), }\n"));
    REQUIRE(header);
    CHECK(header->dtype == "[('caf\xC3\xA9', '<f4')]");
}

TEST_CASE("parse_npy_header: malformed headers are EINVAL with a clear message", "[npy][numpy]") {
    struct Case {
        std::string content;
        std::string message;
    };
    const Case cases[] = {
        {"\x93NUMPY", "version"},
        {"\x93NUMPY\x01", "version"},
        {npy(4, kGood), "version 4.0"},
        {npy(1, kGood, 1), "version 1.1"},
        {npy(0, kGood), "version 0.0"},
        {std::string("\x93NUMPY\x01\x00\x10", 9), "length"},
        {std::string("\x93NUMPY\x02\x00\x10\x00\x00", 11), "length"},
        {npy(1, kGood).substr(0, 30), "longer than"},
        {npy(1, "['descr', '<f8']"), "not a dict"},
        {npy(1, "{'descr': '<f8', 'fortran_order': False}"), "lacks 'shape'"},
        {npy(1, "{'fortran_order': False, 'shape': (3,)}"), "lacks 'descr'"},
        {npy(1, "{'descr': '<f8', 'shape': (3,)}"), "lacks 'fortran_order'"},
        {npy(1, "{'descr': '<f8', 'fortran_order': False, 'shape': (3,), 'extra': 1}"), "unknown key 'extra'"},
        {npy(1, "{'descr': '<f8', 'descr': '<f8', 'fortran_order': False, 'shape': (3,)}"), "twice"},
        {npy(1, "{'descr': '<f8', 'fortran_order': 0, 'shape': (3,)}"), "fortran_order"},
        {npy(1, "{'descr': '<f8', 'fortran_order': False, 'shape': [3]}"), "'shape' is not a tuple"},
        {npy(1, "{'descr': '<f8', 'fortran_order': False, 'shape': (-3,)}"), "not a size"},
        {npy(1, "{'descr': '<f8', 'fortran_order': False, 'shape': (True,)}"), "not a size"},
        {npy(1, "{'descr': '<f8', 'fortran_order': False, 'shape': (99999999999999999999,)}"), "too large"},
        {npy(1, "{'descr': '<f8', 'fortran_order': False, 'shape': (4294967296, 4294967296)}"), "too large"},
        {npy(1, "{'descr': 8, 'fortran_order': False, 'shape': (3,)}"), "'descr'"},
        {npy(1, "{'descr': '<f8, 'fortran_order': False, 'shape': (3,)}"), ".npy header"},
        {npy(1, "{'descr': '<f8', 'fortran_order': False, 'shape': (3,)"), "missing '}'"},
        {npy(1, "{'descr': '<f8' 'fortran_order': False, 'shape': (3,)}"), "expected ','"},
        {npy(1, "{'descr': '<f8', 'fortran_order': False, 'shape': (3,)} trailing"), "after the value"},
        {npy(1, "{'descr': '<f8', 'fortran_order': Flase, 'shape': (3,)}"), "unexpected 'F'"},
        {npy(1, ""), "unexpected end"},
        {npy(3, "{'descr': [('caf\xE9', '<f4')], 'fortran_order': False, 'shape': (1,), }"), "not UTF-8"},
        // Shapes HDF5 refuses: more than 32 dimensions, an extent from 2^63 on (beside a 0).
        {npy(1, "{'descr': '|u1', 'fortran_order': False, 'shape': (" + repeated("1, ", 33) + "), }"),
         "33 dimensions"},
        {npy(1, "{'descr': '|u1', 'fortran_order': False, 'shape': (0, 9223372036854775808), }"), "extent"},
        {npy(1, "{'descr': '|u1', 'fortran_order': False, 'shape': (18446744073709551614, 0), }"), "'shape'"},
    };
    for (const Case& c : cases) {
        INFO(c.content);
        std::string message = rejection(c.content);
        CHECK(message.find(c.message) != std::string::npos);
        CHECK(message.find(".npy") != std::string::npos);
    }
}
