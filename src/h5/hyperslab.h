// Byte range of a dataset's byte form -> the hyperslab boxes that hold those bytes.
// Pure arithmetic: no HDF5, no FUSE, so it can be tested exhaustively.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

namespace h5swmrfs::h5 {

// One rectangular hyperslab; start.size() == count.size() == rank (both empty for a scalar).
struct Box {
    std::vector<std::uint64_t> start, count;
};

// The elements a byte range touches, and where the asked-for bytes sit within them.
struct ElementSpan {
    std::uint64_t first = 0;   // first element index (C order) touched
    std::uint64_t count = 0;   // number of elements touched (0 -> nothing to read)
    std::uint64_t skip = 0;    // bytes to drop at the front of the first element
    std::uint64_t length = 0;  // bytes to return (clipped to the end of the data)
};

// Elements of a shape (1 for rank 0, 0 when any extent is 0).
// Throws Error(EOVERFLOW) when the count does not fit in 64 bits.
std::uint64_t element_count(std::span<const std::uint64_t> shape);

// Byte range [offset, offset + length) of data holding `total_elements` elements of
// `element_size` bytes. A range that is empty or starts at or past the end gives an all-zero
// span. `offset + length` may exceed 2^64; it is clipped, never wrapped.
// Throws Error(EOVERFLOW) when total_elements * element_size does not fit in 64 bits.
ElementSpan elements_for_bytes(std::uint64_t total_elements, std::uint64_t element_size,
                               std::uint64_t offset, std::uint64_t length);

// Boxes covering exactly elements [first, first + count) of an array of `shape`, listed so that
// reading each box in C order, one after the other, yields those elements in C order. They are
// disjoint and as few as any such ordered list can be: at most 2 * rank - 1 (one for rank 0).
// count == 0 gives no boxes. Throws Error(EINVAL) when the range does not lie within the shape.
std::vector<Box> cover_elements(std::span<const std::uint64_t> shape, std::uint64_t first,
                                std::uint64_t count);

}  // namespace h5swmrfs::h5
