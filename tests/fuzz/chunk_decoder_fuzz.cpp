// Fuzz target for the chunk decoder: any stored bytes, any pipeline, any mask. The decoder
// must return a chunk of exactly the asked size or throw Error(EIO); anything else (a
// crash, a sanitizer report, another error) is a bug. Built as a libFuzzer target with
// clang, and with chunk_decoder_mutations.cpp as a standalone driver in every build.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <vector>

#include "h5/chunk_decoder.h"
#include "util/error.h"

using h5swmrfs::h5::Filter;

// Input: [pipeline][element size][mask][chunk size lo][chunk size hi] stored bytes...
// pipeline: up to three filters, two bits each (0 none, 1 shuffle, 2 deflate, 3 fletcher32).
extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    if (size < 5) return 0;
    std::vector<Filter> filters;
    for (int i = 0; i < 3; ++i) {
        switch ((data[0] >> (2 * i)) & 3) {
            case 1: filters.push_back({Filter::Kind::Shuffle, static_cast<std::size_t>(data[1] % 17)}); break;
            case 2: filters.push_back({Filter::Kind::Deflate}); break;
            case 3: filters.push_back({Filter::Kind::Fletcher32}); break;
            default: break;
        }
    }
    const unsigned mask = data[2];
    const std::size_t chunk_bytes = data[3] | (std::size_t{data[4]} << 8);
    const auto* stored = reinterpret_cast<const std::byte*>(data + 5);
    try {
        const auto chunk = h5swmrfs::h5::decode_chunk({stored, size - 5}, filters, mask, chunk_bytes);
        if (chunk.size() != chunk_bytes) {
            std::fprintf(stderr, "decoded %zu bytes, asked %zu\n", chunk.size(), chunk_bytes);
            std::abort();
        }
    } catch (const h5swmrfs::Error& e) {
        if (e.code() != EIO) {
            std::fprintf(stderr, "error %d: %s\n", e.code(), e.what());
            std::abort();
        }
    }
    return 0;
}
