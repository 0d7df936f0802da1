// A standalone driver for chunk_decoder_fuzz.cpp, for builds without libFuzzer: valid
// chunks of every pipeline (each must decode back), then random mutations of them (bit flips, cuts, inserted and
// overwritten bytes), each through the fuzz target. Arguments: [iterations] [seed].
#include <algorithm>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <random>
#include <vector>

#include "chunk_encoder.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size);

using h5swmrfs::h5::Filter;

int main(int argc, char** argv) {
    const long iterations = argc > 1 ? std::atol(argv[1]) : 20000;
    std::mt19937_64 random(argc > 2 ? std::strtoull(argv[2], nullptr, 10) : 1);
    auto below = [&](std::uint64_t n) { return n ? random() % n : 0; };
    std::vector<std::vector<std::uint8_t>> corpus;
    // Each pipeline with chunks of four sizes, compressible and not.
    for (unsigned variant = 0; variant < 256; ++variant) {
        const unsigned pipeline = variant % 64;
        const std::size_t element = 1 + variant % 8;
        const std::size_t chunk_bytes = element * (1 + below(variant < 128 ? 2000 / element : 65535 / element));
        const bool noise = variant % 3 == 0;
        std::vector<std::byte> chunk(chunk_bytes);
        for (auto& b : chunk) b = static_cast<std::byte>(noise || !below(4) ? below(256) : below(8));
        std::vector<Filter> filters;
        for (int i = 0; i < 3; ++i) {
            switch ((pipeline >> (2 * i)) & 3) {
                case 1: filters.push_back({Filter::Kind::Shuffle, element}); break;
                case 2: filters.push_back({Filter::Kind::Deflate}); break;
                case 3: filters.push_back({Filter::Kind::Fletcher32}); break;
                default: break;
            }
        }
        const auto stored = h5test::encode(chunk, filters);
        std::vector<std::uint8_t> input = {static_cast<std::uint8_t>(pipeline), static_cast<std::uint8_t>(element), 0,
                                           static_cast<std::uint8_t>(chunk_bytes & 0xff),
                                           static_cast<std::uint8_t>(chunk_bytes >> 8)};
        for (std::byte b : stored) input.push_back(std::to_integer<std::uint8_t>(b));
        corpus.push_back(input);
        // The valid chunk decodes (the target aborts on a wrong size; EIO here is a bug too).
        try {
            const auto decoded = h5swmrfs::h5::decode_chunk(stored, filters, 0, chunk_bytes);
            if (!std::equal(decoded.begin(), decoded.end(), chunk.begin(), chunk.end())) {
                std::fprintf(stderr, "pipeline %u: decoded bytes differ\n", pipeline);
                return 1;
            }
        } catch (const std::exception& e) {
            std::fprintf(stderr, "pipeline %u: %s\n", pipeline, e.what());
            return 1;
        }
    }
    for (long i = 0; i < iterations; ++i) {
        std::vector<std::uint8_t> input = corpus[below(corpus.size())];
        for (int m = 0, n = 1 + static_cast<int>(below(4)); m < n; ++m) {
            const std::size_t at = below(input.size());
            switch (below(5)) {
                case 0: input[at] ^= static_cast<std::uint8_t>(1u << below(8)); break;
                case 1: input.resize(at); break;
                case 2: input.insert(input.begin() + static_cast<std::ptrdiff_t>(at), static_cast<std::uint8_t>(random())); break;
                case 3: input[at] = static_cast<std::uint8_t>(random()); break;
                case 4: if (at >= 5) input.erase(input.begin() + static_cast<std::ptrdiff_t>(at)); break;
            }
            if (input.empty()) break;
        }
        LLVMFuzzerTestOneInput(input.data(), input.size());
    }
    std::printf("%ld mutated chunks decoded or refused with EIO\n", iterations);
    return 0;
}
