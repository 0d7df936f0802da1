#include "h5/hyperslab.h"

#include <algorithm>
#include <cassert>
#include <string>

#include "util/error.h"

namespace h5swmrfs::h5 {

// How the cover is chosen, and why no ordered cover has fewer boxes.
//
// Let s_k be the stride of dimension k: the product of the extents after k (s_{rank-1} = 1),
// so every s_j with j >= k divides s_k. A run [x, y) of C-order indices is one box exactly
// when, for some k, x and y are multiples of s_k and no multiple of s_{k-1} lies strictly
// between them (no such condition for k = 0): the box is fixed in the dimensions before k,
// spans part of dimension k and all of the dimensions after it.
//
// Consequence: a box that starts at an index that is not a multiple of s_k is of some finer
// k' > k, so it cannot cross a multiple of s_k; it ends at or before the next one. Likewise a
// box that ends at an index that is not a multiple of s_k begins at or after the previous one.
//
// Take the range [a, b). For each k with s_k not dividing a, the next multiple up_k of s_k
// is, if below b, the end of a box in every ordered cover: the box holding up_k - 1 starts in
// [a, up_k), where no multiple of s_k lies, so it ends no later than up_k. For each k with s_k
// not dividing b, the previous multiple down_k is, if above a, the start of a box, by the
// mirror argument. So every ordered cover has at least one box more than there are distinct
// such points, and they are the only places this code cuts.
//
// Cutting exactly there suffices: the up_k, from the innermost k outwards, make a "leading
// partial" staircase that completes one dimension per box; between the last up_k and the first
// down_k lies one middle block of whole rows; the down_k, from the outermost k inwards, make
// the "trailing partial" staircase. (Every up_k is <= every down_k, since each is a multiple of
// the finer stride of the pair.) Each piece satisfies the box rule above. Points that coincide
// or fall outside (a, b) drop out, which is how a range of whole rows, or one inside a single
// row, is one box. k = rank - 1 never cuts (s = 1), so there are at most 2 * (rank - 1) cuts
// and 2 * rank - 1 boxes.
//
// An unordered cover can be smaller: in a 2x2x2 array, indices 1..6 are three boxes
// ({0..1}x{0}x{1}, {0}x{1}x{0..1}, {1}x{0..1}x{0}), but no list of them reads in C order.

namespace {

std::vector<std::uint64_t> strides_of(std::span<const std::uint64_t> shape) {
    std::vector<std::uint64_t> strides(shape.size(), 1);
    for (std::size_t k = shape.size(); k-- > 1;) strides[k - 1] = strides[k] * shape[k];
    return strides;
}

std::vector<std::uint64_t> coordinates_of(std::span<const std::uint64_t> strides,
                                          std::uint64_t index) {
    std::vector<std::uint64_t> coords(strides.size());
    for (std::size_t k = 0; k < strides.size(); ++k) {
        coords[k] = index / strides[k];
        index %= strides[k];
    }
    return coords;
}

// The box holding indices [x, y), which the cut rule guarantees is one box.
Box box_of(std::span<const std::uint64_t> strides, std::uint64_t x, std::uint64_t y) {
    Box box{coordinates_of(strides, x), coordinates_of(strides, y - 1)};
    std::uint64_t volume = 1;
    for (std::size_t k = 0; k < strides.size(); ++k) {
        box.count[k] = box.count[k] - box.start[k] + 1;
        volume *= box.count[k];
    }
    assert(volume == y - x);
    (void)volume;
    return box;
}

}  // namespace

std::uint64_t element_count(std::span<const std::uint64_t> shape) {
    if (std::find(shape.begin(), shape.end(), 0) != shape.end()) return 0;
    std::uint64_t n = 1;
    for (std::uint64_t extent : shape)
        if (__builtin_mul_overflow(n, extent, &n))
            throw Error(EOVERFLOW, "dataset has more than 2^64 elements");
    return n;
}

ElementSpan elements_for_bytes(std::uint64_t total_elements, std::uint64_t element_size,
                               std::uint64_t offset, std::uint64_t length) {
    std::uint64_t total_bytes;
    if (__builtin_mul_overflow(total_elements, element_size, &total_bytes))
        throw Error(EOVERFLOW, "dataset has more than 2^64 bytes");
    if (length == 0 || offset >= total_bytes) return {};
    length = std::min(length, total_bytes - offset);  // so offset + length cannot wrap
    std::uint64_t first = offset / element_size;
    std::uint64_t last = (offset + length - 1) / element_size;
    return {first, last - first + 1, offset % element_size, length};
}

std::vector<Box> cover_elements(std::span<const std::uint64_t> shape, std::uint64_t first,
                                std::uint64_t count) {
    if (count == 0) return {};
    std::uint64_t total = element_count(shape);
    if (count > total || first > total - count)
        throw Error(EINVAL, "elements " + std::to_string(first) + " + " + std::to_string(count) +
                                " lie outside a dataset of " + std::to_string(total));
    if (shape.empty()) return {Box{}};

    // Every stride divides `total`, so the multiples below stay <= total and cannot wrap.
    std::vector<std::uint64_t> strides = strides_of(shape);
    std::uint64_t a = first, b = first + count;
    std::vector<std::uint64_t> cuts{a, b};
    for (std::uint64_t s : strides) {
        if (std::uint64_t up = a + (s - a % s) % s; up > a && up < b) cuts.push_back(up);
        if (std::uint64_t down = b - b % s; down > a && down < b) cuts.push_back(down);
    }
    std::sort(cuts.begin(), cuts.end());
    cuts.erase(std::unique(cuts.begin(), cuts.end()), cuts.end());

    std::vector<Box> boxes;
    boxes.reserve(cuts.size() - 1);
    for (std::size_t i = 0; i + 1 < cuts.size(); ++i)
        boxes.push_back(box_of(strides, cuts[i], cuts[i + 1]));
    return boxes;
}

}  // namespace h5swmrfs::h5
