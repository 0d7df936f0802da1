// The byte range <-> hyperslab mapping against brute-force references, exhaustively over small
// shapes and ranges. The references here share no code or method with src/h5/hyperslab.cpp.
#include <catch2/catch.hpp>

#include <algorithm>
#include <cstdint>
#include <functional>
#include <limits>
#include <sstream>
#include <string>
#include <vector>

#include "h5/hyperslab.h"
#include "error_code.h"
#include "util/error.h"

using h5swmrfs::h5::Box;
using h5swmrfs::h5::cover_elements;
using h5swmrfs::h5::element_count;
using h5swmrfs::h5::ElementSpan;
using h5swmrfs::h5::elements_for_bytes;
using Shape = std::vector<std::uint64_t>;

using h5swmrfs::test::error_code_of;

namespace {

constexpr std::uint64_t kMax = std::numeric_limits<std::uint64_t>::max();

// Every shape of `rank` with extents 0..max_extent.
std::vector<Shape> all_shapes(std::size_t rank, std::uint64_t max_extent) {
    std::vector<Shape> shapes;
    Shape shape(rank, 0);
    while (true) {
        shapes.push_back(shape);
        std::size_t k = rank;
        while (k > 0 && shape[k - 1] == max_extent) shape[--k] = 0;
        if (k == 0) return shapes;
        ++shape[k - 1];
    }
}

std::uint64_t brute_count(const Shape& shape) {
    std::uint64_t n = 1;
    for (auto e : shape) n *= e;
    return n;
}

// Coordinates of a C-order index, peeling the innermost dimension first.
Shape coords_of(const Shape& shape, std::uint64_t index) {
    Shape coords(shape.size());
    for (std::size_t k = shape.size(); k-- > 0;) {
        coords[k] = index % shape[k];
        index /= shape[k];
    }
    return coords;
}

std::uint64_t index_of(const Shape& shape, const Shape& coords) {
    std::uint64_t index = 0;
    for (std::size_t k = 0; k < shape.size(); ++k) index = index * shape[k] + coords[k];
    return index;
}

// The C-order indices of a box's elements, in C order; "" or a complaint in `problem`.
std::vector<std::uint64_t> box_indices(const Shape& shape, const Box& box, std::string& problem) {
    std::vector<std::uint64_t> out;
    if (box.start.size() != shape.size() || box.count.size() != shape.size()) {
        problem = "box rank differs from shape rank";
        return out;
    }
    for (std::size_t k = 0; k < shape.size(); ++k)
        if (box.count[k] == 0 || box.start[k] + box.count[k] > shape[k]) {
            problem = "box is empty or outside the shape in dimension " + std::to_string(k);
            return out;
        }
    Shape at = box.start;
    while (true) {
        out.push_back(index_of(shape, at));
        std::size_t k = shape.size();
        while (k > 0 && at[k - 1] + 1 == box.start[k - 1] + box.count[k - 1]) {
            at[k - 1] = box.start[k - 1];
            --k;
        }
        if (k == 0) return out;
        ++at[k - 1];
    }
}

// Which C-order runs [x, y) are exactly one box (their bounding box has y - x elements).
struct RunTable {
    std::uint64_t n;
    std::vector<char> is_box;  // (n + 1) * (n + 1), indexed by x * (n + 1) + y
    bool operator()(std::uint64_t x, std::uint64_t y) const { return is_box[x * (n + 1) + y]; }
};

RunTable runs_that_are_boxes(const Shape& shape) {
    std::uint64_t n = brute_count(shape);
    RunTable is_box{n, std::vector<char>((n + 1) * (n + 1), 0)};
    for (std::uint64_t x = 0; x < n; ++x) {
        Shape lo = coords_of(shape, x), hi = lo;
        for (std::uint64_t y = x + 1; y <= n; ++y) {
            Shape c = coords_of(shape, y - 1);
            std::uint64_t volume = 1;
            for (std::size_t k = 0; k < shape.size(); ++k) {
                lo[k] = std::min(lo[k], c[k]);
                hi[k] = std::max(hi[k], c[k]);
                volume *= hi[k] - lo[k] + 1;
            }
            is_box.is_box[x * (n + 1) + y] = volume == y - x;
        }
    }
    return is_box;
}

// fewest[y]: fewest boxes that, read one after another, give [first, y) in C order
// (dynamic programming over every split point).
std::vector<std::uint64_t> fewest_ordered_boxes(const RunTable& is_box, std::uint64_t first) {
    std::uint64_t n = is_box.n;
    std::vector<std::uint64_t> fewest(n + 1, kMax);
    fewest[first] = 0;
    for (std::uint64_t y = first + 1; y <= n; ++y)
        for (std::uint64_t x = first; x < y; ++x)
            if (is_box(x, y) && fewest[x] != kMax) fewest[y] = std::min(fewest[y], fewest[x] + 1);
    return fewest;
}

std::string describe(const Shape& shape, std::uint64_t first, std::uint64_t count) {
    std::ostringstream out;
    out << "shape (";
    for (std::size_t k = 0; k < shape.size(); ++k) out << (k ? "," : "") << shape[k];
    out << ") first " << first << " count " << count;
    return out.str();
}

// "" when `boxes` is a correct, minimal, ordered cover of [first, first + count).
std::string check_cover(const Shape& shape, std::uint64_t first, std::uint64_t count,
                        const std::vector<Box>& boxes, std::uint64_t fewest) {
    std::uint64_t n = brute_count(shape);
    std::vector<bool> seen(n, false);
    std::vector<std::uint64_t> order;
    for (const Box& box : boxes) {
        std::string problem;
        for (std::uint64_t i : box_indices(shape, box, problem)) {
            if (seen[i]) return "boxes overlap at element " + std::to_string(i);
            seen[i] = true;
            order.push_back(i);
        }
        if (!problem.empty()) return problem;
    }
    for (std::uint64_t i = 0; i < n; ++i)
        if (seen[i] != (i >= first && i < first + count))
            return "element " + std::to_string(i) + (seen[i] ? " covered" : " missed");
    for (std::uint64_t i = 0; i < order.size(); ++i)
        if (order[i] != first + i) return "boxes are not listed in C order";
    if (boxes.size() != fewest)
        return std::to_string(boxes.size()) + " boxes, " + std::to_string(fewest) + " suffice";
    if (!shape.empty() && boxes.size() > 2 * shape.size() - 1)
        return "more than 2 * rank - 1 boxes";
    return "";
}

}  // namespace

TEST_CASE("cover_elements is an exact, ordered, minimal cover of every range", "[hyperslab]") {
    // Rank 5 stops at extent 2 to keep the run under a second (extent 3 would triple it).
    for (std::size_t rank = 1; rank <= 5; ++rank) {
        for (const Shape& shape : all_shapes(rank, rank == 5 ? 2 : 4)) {
            std::uint64_t n = brute_count(shape);
            REQUIRE(element_count(shape) == n);
            auto is_box = runs_that_are_boxes(shape);
            for (std::uint64_t first = 0; first <= n; ++first) {
                auto fewest = fewest_ordered_boxes(is_box, first);
                for (std::uint64_t count = 0; first + count <= n; ++count) {
                    std::string problem =
                        check_cover(shape, first, count, cover_elements(shape, first, count),
                                    fewest[first + count]);
                    if (!problem.empty()) FAIL(describe(shape, first, count) << ": " << problem);
                }
                // One element too many is out of bounds, whatever the start.
                if (error_code_of([&] { cover_elements(shape, first, n - first + 1); }) != EINVAL)
                    FAIL(describe(shape, first, n - first + 1) << ": no EINVAL");
            }
        }
    }
}

TEST_CASE("cover_elements of whole rows and of part of one row is one box", "[hyperslab]") {
    const Shape shape{3, 4, 5};
    CHECK(cover_elements(shape, 0, 60).size() == 1);
    CHECK(cover_elements(shape, 20, 40).size() == 1);   // whole planes 1..2
    CHECK(cover_elements(shape, 25, 10).size() == 1);   // rows 1..2 of plane 1
    CHECK(cover_elements(shape, 26, 3).size() == 1);    // inside one row
    auto boxes = cover_elements(shape, 7, 47);          // 7 .. 53: the worst case, 2 * 3 - 1
    REQUIRE(boxes.size() == 5);
    CHECK(boxes[0].start == Shape{0, 1, 2});
    CHECK(boxes[0].count == Shape{1, 1, 3});
    CHECK(boxes[1].start == Shape{0, 2, 0});
    CHECK(boxes[1].count == Shape{1, 2, 5});
    CHECK(boxes[2].start == Shape{1, 0, 0});
    CHECK(boxes[2].count == Shape{1, 4, 5});
    CHECK(boxes[3].start == Shape{2, 0, 0});
    CHECK(boxes[3].count == Shape{1, 2, 5});
    CHECK(boxes[4].start == Shape{2, 2, 0});
    CHECK(boxes[4].count == Shape{1, 1, 4});
}

TEST_CASE("cover_elements is minimal among ordered covers, not among all covers", "[hyperslab]") {
    // Elements 1..6 of a 2x2x2 array split into three boxes ({0,1}x{0}x{1}, {0}x{1}x{0,1},
    // {1}x{0,1}x{0}), but no order of those reads as 1..6; an ordered cover needs four.
    CHECK(cover_elements(Shape{2, 2, 2}, 1, 6).size() == 4);
}

TEST_CASE("cover_elements of a scalar", "[hyperslab]") {
    const Shape scalar{};
    CHECK(element_count(scalar) == 1);
    CHECK(cover_elements(scalar, 0, 0).empty());
    auto boxes = cover_elements(scalar, 0, 1);
    REQUIRE(boxes.size() == 1);
    CHECK(boxes[0].start.empty());
    CHECK(boxes[0].count.empty());
    CHECK(error_code_of([&] { cover_elements(scalar, 1, 1); }) == EINVAL);
    CHECK(error_code_of([&] { cover_elements(scalar, 0, 2); }) == EINVAL);
}

TEST_CASE("cover_elements and element_count near 2^64", "[hyperslab]") {
    const Shape big{std::uint64_t{1} << 32, (std::uint64_t{1} << 32) - 1};  // 2^64 - 2^32 elements
    const std::uint64_t n = element_count(big);
    CHECK(n == kMax - ((std::uint64_t{1} << 32) - 1));
    auto boxes = cover_elements(big, 1, n - 2);
    REQUIRE(boxes.size() == 3);
    CHECK(boxes[0].start == Shape{0, 1});
    CHECK(boxes[1].count == Shape{(std::uint64_t{1} << 32) - 2, (std::uint64_t{1} << 32) - 1});
    CHECK(boxes[2].count == Shape{1, (std::uint64_t{1} << 32) - 2});
    CHECK(cover_elements(big, n - 1, 1).size() == 1);
    // first + count wraps past 2^64: still out of bounds, not a small range.
    CHECK(error_code_of([&] { cover_elements(big, kMax, 2); }) == EINVAL);
    CHECK(error_code_of([&] { cover_elements(big, 2, kMax); }) == EINVAL);

    const Shape too_big{std::uint64_t{1} << 32, std::uint64_t{1} << 32};
    CHECK(error_code_of([&] { element_count(too_big); }) == EOVERFLOW);
    CHECK(element_count(Shape{std::uint64_t{1} << 40, 0, std::uint64_t{1} << 40}) == 0);
    CHECK(cover_elements(Shape{std::uint64_t{1} << 40, 0, std::uint64_t{1} << 40}, 0, 0).empty());
}

TEST_CASE("elements_for_bytes matches a byte-by-byte reference", "[hyperslab]") {
    for (std::uint64_t total = 0; total <= 6; ++total)
        for (std::uint64_t size = 0; size <= 5; ++size)
            for (std::uint64_t offset = 0; offset <= 35; ++offset)
                for (std::uint64_t length = 0; length <= 35; ++length) {
                    ElementSpan want;
                    for (std::uint64_t byte = offset; byte < offset + length && byte < total * size;
                         ++byte) {
                        if (want.length == 0) {
                            want.first = byte / size;
                            want.skip = byte % size;
                        }
                        want.count = byte / size - want.first + 1;
                        ++want.length;
                    }
                    ElementSpan got = elements_for_bytes(total, size, offset, length);
                    if (got.first != want.first || got.count != want.count ||
                        got.skip != want.skip || got.length != want.length)
                        FAIL("total " << total << " size " << size << " offset " << offset
                                      << " length " << length << ": got " << got.first << "+"
                                      << got.count << " skip " << got.skip << " length "
                                      << got.length << ", want " << want.first << "+" << want.count
                                      << " skip " << want.skip << " length " << want.length);
                }
}

TEST_CASE("elements_for_bytes near 2^64 neither wraps nor overflows", "[hyperslab]") {
    const std::uint64_t e60 = std::uint64_t{1} << 60;  // 2^60 doubles: 2^63 bytes

    ElementSpan tail = elements_for_bytes(e60, 8, (e60 << 3) - 3, kMax);
    CHECK(tail.first == e60 - 1);
    CHECK(tail.count == 1);
    CHECK(tail.skip == 5);
    CHECK(tail.length == 3);

    ElementSpan all = elements_for_bytes(e60, 8, 0, kMax);
    CHECK(all.first == 0);
    CHECK(all.count == e60);
    CHECK(all.length == e60 << 3);

    ElementSpan past = elements_for_bytes(e60, 8, kMax, kMax);
    CHECK(past.count == 0);
    CHECK(past.length == 0);

    // 2^64 - 1 one-byte elements: the last byte, and everything.
    ElementSpan last = elements_for_bytes(kMax, 1, kMax - 1, kMax);
    CHECK(last.first == kMax - 1);
    CHECK(last.count == 1);
    CHECK(last.length == 1);
    ElementSpan whole = elements_for_bytes(kMax, 1, 0, kMax);
    CHECK(whole.count == kMax);
    CHECK(whole.length == kMax);

    ElementSpan huge_element = elements_for_bytes(1, kMax, kMax - 2, 5);
    CHECK(huge_element.first == 0);
    CHECK(huge_element.count == 1);
    CHECK(huge_element.skip == kMax - 2);
    CHECK(huge_element.length == 2);  // its last two bytes

    CHECK(error_code_of([] { elements_for_bytes(std::uint64_t{1} << 61, 8, 0, 1); }) == EOVERFLOW);
}
