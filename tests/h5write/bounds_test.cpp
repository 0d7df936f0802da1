// check_shape / check_type_fits_header: what they refuse is exactly what HDF5 would have
// refused, so a refusal is never needless and what they let through never fails in HDF5.
#include <catch2/catch.hpp>

#include <string>
#include <vector>

#include "h5/bounds.h"
#include "h5/dataset_writer.h"
#include "support.h"

namespace {

using h5swmrfs::Error;
using h5swmrfs::h5::check;
using h5swmrfs::h5::check_shape;
using h5swmrfs::h5::check_type_fits_header;
using h5swmrfs::h5::checked;
using h5swmrfs::h5::Id;

// The EINVAL message of `action`, "" when it does not throw; any other error fails the test.
template <class F>
std::string refusal(F action) {
    try {
        action();
    } catch (const Error& e) {
        CHECK(e.code() == EINVAL);
        return e.what();
    }
    return "";
}

// Whether HDF5 itself makes an empty, chunked, resizable dataset of this shape and type.
bool hdf5_creates(hid_t file, const std::string& name, const std::vector<hsize_t>& shape, hid_t type) {
    std::vector<hsize_t> max(shape), chunk(shape.size(), 1);
    max[0] = H5S_UNLIMITED;
    Id space(H5Screate_simple(static_cast<int>(shape.size()), shape.data(), max.data()));
    Id dcpl = checked(H5Pcreate(H5P_DATASET_CREATE), "dcpl");
    const bool made = space && H5Pset_chunk(dcpl.get(), static_cast<int>(chunk.size()), chunk.data()) >= 0 &&
                      Id(H5Dcreate2(file, name.c_str(), type, space.get(), H5P_DEFAULT, dcpl.get(), H5P_DEFAULT));
    H5Eclear2(H5E_DEFAULT);
    return made;
}

// A compound of `fields` one-byte fields named f0, f1, ...
Id compound(int fields) {
    Id type = checked(H5Tcreate(H5T_COMPOUND, static_cast<std::size_t>(fields)), "compound");
    for (int i = 0; i < fields; ++i)
        check(H5Tinsert(type.get(), ("f" + std::to_string(i)).c_str(), static_cast<std::size_t>(i), H5T_STD_U8LE),
              "insert");
    return type;
}

}  // namespace

TEST_CASE("check_shape refuses what HDF5 refuses, and only that", "[bounds]") {
    h5test::TempDir dir;
    Id file = h5test::create_file(dir.path() / "shapes.h5");
    const std::vector<std::vector<std::uint64_t>> shapes = {
        std::vector<std::uint64_t>(32, 1),
        std::vector<std::uint64_t>(33, 1),
        {0, (std::uint64_t{1} << 63) - 1},
        {0, std::uint64_t{1} << 63},
        {0, ~std::uint64_t{0} - 1},
        {(std::uint64_t{1} << 63) - 1, 0},
        {std::uint64_t{1} << 63, 0},
    };
    int n = 0;
    for (const auto& shape : shapes) {
        INFO("rank " << shape.size() << ", extents " << shape.front() << ", " << shape.back());
        const std::string message = refusal([&] { check_shape(shape, "test shape"); });
        const bool created = hdf5_creates(file.get(), "d" + std::to_string(n++),
                                          std::vector<hsize_t>(shape.begin(), shape.end()), H5T_STD_U8LE);
        CHECK(message.empty() == created);
        if (!message.empty()) CHECK(message.find("test shape: ") == 0);
    }
    CHECK(refusal([] { check_shape({}, "scalar"); }).empty());
    CHECK(refusal([] { check_shape(std::vector<std::uint64_t>(33, 1), "x"); }).find("33 dimensions") !=
          std::string::npos);
}

TEST_CASE("check_type_fits_header refuses the types no dataset header holds, and only those", "[bounds]") {
    h5test::TempDir dir;
    Id file = h5test::create_file(dir.path() / "types.h5");
    // HDF5's limit falls between 100 fields (fine) and 4000 (refused); find ours to the field.
    for (int fields : {100, 4000}) {
        INFO(fields << " fields");
        Id type = compound(fields);
        const bool fits = refusal([&] { check_type_fits_header(type.get(), "test type"); }).empty();
        CHECK(fits == hdf5_creates(file.get(), "c" + std::to_string(fields), {0}, type.get()));
    }
    int fine = 100, refused_from = 4000;
    while (refused_from - fine > 1) {
        const int middle = (fine + refused_from) / 2;
        Id type = compound(middle);
        (refusal([&] { check_type_fits_header(type.get(), "test type"); }).empty() ? fine : refused_from) = middle;
    }
    for (int fields : {refused_from - 1, refused_from}) {
        INFO(fields << " fields, refused from " << refused_from);
        Id type = compound(fields);
        CHECK(hdf5_creates(file.get(), "edge" + std::to_string(fields), {0}, type.get()) == (fields < refused_from));
    }
}
