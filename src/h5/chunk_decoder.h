// A chunk's stored bytes → its elements in byte form, without HDF5: the reverse of the
// filters the direct read path accepts (fletcher32, deflate, shuffle), then the byte swap
// that makes stored elements this host's. Pure code, so it can be fuzzed.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <vector>

#include "util/bytes.h"

namespace h5swmrfs::h5 {

// One filter of a dataset's pipeline, in the order HDF5 applies them when writing.
struct Filter {
    enum class Kind { Deflate, Shuffle, Fletcher32 };
    Kind kind;
    std::size_t element_size = 0;  // shuffle: bytes of one element (its first parameter)
};

// A field of an element whose stored bytes are in the other byte order: `size` bytes at `offset`.
struct ByteSwap {
    std::size_t offset = 0;
    std::size_t size = 0;
};

// HDF5's Fletcher-32 (H5_checksum_fletcher32): big-endian 16-bit words, sums from 0, an odd
// last byte as the high half of a word.
std::uint32_t fletcher32(std::span<const std::byte> data) noexcept;

// Undoes `filters` on `stored` (the last applied first), skipping filter i when bit i of
// `filter_mask` is set, and checks the result is `chunk_bytes` long. Throws Error(EIO)
// saying what failed (checksum, inflate, size); never reads or writes out of bounds,
// whatever `stored` holds.
util::Bytes decode_chunk(std::span<const std::byte> stored, std::span<const Filter> filters,
                         unsigned filter_mask, std::size_t chunk_bytes);
// The same into `out`, with `scratch` for what a stage before the last makes: their memory
// is used when large enough, their contents are lost (also when it throws).
void decode_chunk(std::span<const std::byte> stored, std::span<const Filter> filters, unsigned filter_mask,
                  std::size_t chunk_bytes, util::Bytes& out, util::Bytes& scratch);

// How many of the filters a chunk with `filter_mask` went through make new bytes when undone
// (inflate, unshuffle; a checksum only comes off): decode_chunk needs `scratch` from two.
std::size_t stages_making_bytes(std::span<const Filter> filters, unsigned filter_mask);

// The most bytes any stage of decode_chunk may make for a chunk of `chunk_bytes` (buffers
// of this size are used as they are, never grown).
std::size_t decoding_bytes(std::span<const Filter> filters, std::size_t chunk_bytes);

// Swaps the bytes of every field `swaps` names in each `element_size`-byte element of `data`
// (a trailing partial element is left alone).
void swap_bytes(std::span<std::byte> data, std::size_t element_size, std::span<const ByteSwap> swaps) noexcept;

}  // namespace h5swmrfs::h5
