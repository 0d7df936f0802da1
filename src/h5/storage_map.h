// Where a dataset's bytes lie in the file and how to turn them into its byte form without
// HDF5 (the direct read path, direct_read.h). Asked of HDF5 once per generation.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "h5/chunk_decoder.h"
#include "h5/id.h"

namespace h5swmrfs::h5 {

struct StorageMap {
    static constexpr std::uint64_t kUnallocated = ~std::uint64_t{0};

    bool chunked = false;
    std::vector<std::uint64_t> shape;  // the extent (empty for a scalar)
    std::vector<std::uint64_t> chunk;  // chunked: the chunk's extent
    std::size_t element_size = 0;      // stored and in byte form alike
    std::vector<ByteSwap> swaps;       // per element: the fields stored in the other byte order
    std::vector<Filter> filters;       // chunked: the pipeline, in the order HDF5 writes
    std::vector<std::byte> fill;       // one element as unallocated storage reads
    std::uint64_t address = kUnallocated;  // contiguous: where the data lies
    std::uint64_t stored_bytes = 0;        // contiguous: how much lies there

    std::uint64_t chunk_bytes() const;  // bytes of one decoded chunk
};

// The map of `dataset`, whose byte form reads into `memory_type`; nothing (and the reason
// in `why`) when the direct path cannot give exactly what H5Dread gives: compact, external
// and virtual layouts, filters other than deflate, shuffle and fletcher32, edge chunks left
// unfiltered, types H5Dread converts other than by swapping bytes, undefined fill values.
std::optional<StorageMap> storage_map(hid_t dataset, hid_t memory_type, std::string& why);

// Where a chunk lies: `start` is its first element. address == kUnallocated: not written.
struct ChunkPlace {
    std::uint64_t address = StorageMap::kUnallocated;
    std::uint64_t size = 0;
    unsigned filter_mask = 0;
};
ChunkPlace chunk_place(hid_t dataset, std::span<const std::uint64_t> start);

}  // namespace h5swmrfs::h5
