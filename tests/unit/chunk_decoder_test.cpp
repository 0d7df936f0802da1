// The chunk decoder against the filters applied in the writing direction, and what it
// does with damaged chunks: Error(EIO), never a crash or wrong bytes.
#include <catch2/catch.hpp>

#include <random>
#include <vector>

#include "chunk_encoder.h"
#include "h5/chunk_decoder.h"
#include "error_code.h"
#include "util/error.h"

using h5swmrfs::Error;
using h5swmrfs::h5::ByteSwap;
using h5swmrfs::h5::decode_chunk;
using h5swmrfs::h5::Filter;
using h5swmrfs::h5::fletcher32;
using h5swmrfs::h5::swap_bytes;
using Kind = Filter::Kind;

using h5swmrfs::test::error_code_of;

namespace {

std::vector<std::byte> bytes(std::string_view text) {
    std::vector<std::byte> out;
    for (char c : text) out.push_back(static_cast<std::byte>(c));
    return out;
}

std::vector<std::byte> random_bytes(std::size_t n, unsigned seed, int spread = 256) {
    std::mt19937 random(seed);
    std::vector<std::byte> out(n);
    for (auto& b : out) b = static_cast<std::byte>(random() % spread);
    return out;
}

std::vector<std::byte> vec(const h5swmrfs::util::Bytes& bytes) { return {bytes.begin(), bytes.end()}; }

}  // namespace

TEST_CASE("fletcher32 is HDF5's: big-endian words, odd byte high, sums from 0") {
    CHECK(fletcher32(bytes("abcde")) == 0x4ff029c7u);
    CHECK(fletcher32(bytes("")) == 0u);
    // Long input: the 360-word folding keeps the sums exact.
    std::vector<std::byte> ones(100000, std::byte{0xff});
    std::uint64_t s1 = 0, s2 = 0;
    for (std::size_t i = 0; i < ones.size(); i += 2) {
        s1 = (s1 + 0xffff) % 0xffff;
        s2 = (s2 + s1) % 0xffff;
    }
    const std::uint32_t got = fletcher32(ones);
    CHECK((got & 0xffff) % 0xffff == s1);
    CHECK((got >> 16) % 0xffff == s2);
}

TEST_CASE("every filter chain decodes back to the chunk") {
    const std::vector<std::vector<Filter>> chains = {
        {},
        {{Kind::Deflate}},
        {{Kind::Shuffle, 4}, {Kind::Deflate}},
        {{Kind::Fletcher32}},
        {{Kind::Shuffle, 4}, {Kind::Deflate}, {Kind::Fletcher32}},
        {{Kind::Fletcher32}, {Kind::Shuffle, 4}, {Kind::Deflate}},
        {{Kind::Shuffle, 8}},
        {{Kind::Shuffle, 3}, {Kind::Fletcher32}},
        // Deflated twice: the middle stage is larger than the chunk (incompressible bytes grow).
        {{Kind::Deflate}, {Kind::Deflate}, {Kind::Shuffle, 4}},
        {{Kind::Deflate}, {Kind::Fletcher32}, {Kind::Deflate}},
    };
    for (std::size_t size : {0u, 1u, 3u, 4u, 7u, 64u, 4096u, 100003u}) {
        for (int spread : {7, 256}) {
        const auto chunk = random_bytes(size, static_cast<unsigned>(size), spread);
        for (const auto& chain : chains) {
            const auto stored = h5test::encode(chunk, chain);
            CHECK(vec(decode_chunk(stored, chain, 0, chunk.size())) == chunk);
        }
        }
    }
}

TEST_CASE("decoding into buffers used before gives the same bytes, whatever they held") {
    const std::vector<std::vector<Filter>> chains = {
        {{Kind::Deflate}},
        {{Kind::Shuffle, 4}, {Kind::Deflate}},
        {{Kind::Fletcher32}},
        {{Kind::Shuffle, 4}, {Kind::Deflate}, {Kind::Fletcher32}},
        {{Kind::Deflate}, {Kind::Deflate}, {Kind::Shuffle, 4}},
        {{Kind::Deflate}, {Kind::Fletcher32}, {Kind::Deflate}},
    };
    // One pair of buffers through every chunk, as the direct path's pool hands them out:
    // larger or smaller than needed, full of an earlier chunk's bytes.
    h5swmrfs::util::Bytes out(300000, std::byte{0xa5}), scratch(17, std::byte{0x5a});
    for (std::size_t size : {0u, 4u, 4096u, 100003u, 1000u}) {
        const auto chunk = random_bytes(size, static_cast<unsigned>(size) + 1, 7);
        for (const auto& chain : chains) {
            decode_chunk(h5test::encode(chunk, chain), chain, 0, chunk.size(), out, scratch);
            CHECK(vec(out) == chunk);
        }
    }
    // Sized by decoding_bytes(), no stage grows them (or moves the bytes the chunk is read from).
    for (const auto& chain : chains) {
        const auto chunk = random_bytes(100003, 11, 256);  // incompressible: deflate's output grows
        const std::size_t most = h5swmrfs::h5::decoding_bytes(chain, chunk.size());
        h5swmrfs::util::Bytes sized(most), spare(most);
        const std::byte* memory[] = {sized.data(), spare.data()};
        decode_chunk(h5test::encode(chunk, chain), chain, 0, chunk.size(), sized, spare);
        CHECK(vec(sized) == chunk);
        CHECK(sized.data() == memory[0]);
        CHECK(spare.data() == memory[1]);
    }
    // And when a damaged chunk left them half written.
    const std::vector<Filter> chain = {{Kind::Shuffle, 4}, {Kind::Deflate}, {Kind::Fletcher32}};
    auto damaged = h5test::encode(random_bytes(4096, 9, 7), chain);
    damaged[damaged.size() / 2] ^= std::byte{1};
    CHECK(error_code_of([&] { decode_chunk(damaged, chain, 0, 4096, out, scratch); }) == EIO);
    const auto chunk = random_bytes(4096, 10, 7);
    decode_chunk(h5test::encode(chunk, chain), chain, 0, chunk.size(), out, scratch);
    CHECK(vec(out) == chunk);
}

TEST_CASE("a filter the chunk's mask says was skipped is not undone") {
    const auto chunk = random_bytes(1000, 3, 5);
    const std::vector<Filter> chain = {{Kind::Shuffle, 4}, {Kind::Deflate}, {Kind::Fletcher32}};
    const std::vector<Filter> applied = {{Kind::Shuffle, 4}, {Kind::Fletcher32}};
    CHECK(vec(decode_chunk(h5test::encode(chunk, applied), chain, 0b010, chunk.size())) == chunk);
    CHECK(vec(decode_chunk(chunk, chain, 0b111, chunk.size())) == chunk);
}

TEST_CASE("the checksum stored with its 16-bit halves byte-swapped (HDF5 before 1.6.3) is accepted") {
    const auto chunk = random_bytes(501, 4);
    auto stored = h5test::append_fletcher32(chunk);
    std::swap(stored[stored.size() - 4], stored[stored.size() - 3]);
    std::swap(stored[stored.size() - 2], stored[stored.size() - 1]);
    const std::vector<Filter> chain = {{Kind::Fletcher32}};
    CHECK(vec(decode_chunk(stored, chain, 0, chunk.size())) == chunk);
}

TEST_CASE("damaged chunks are EIO") {
    const auto chunk = random_bytes(4096, 5, 11);
    const std::vector<Filter> checked = {{Kind::Shuffle, 4}, {Kind::Deflate}, {Kind::Fletcher32}};
    const std::vector<Filter> plain = {{Kind::Shuffle, 4}, {Kind::Deflate}};
    SECTION("one bit of a checksummed chunk") {
        auto stored = h5test::encode(chunk, checked);
        for (std::size_t at : {std::size_t{0}, stored.size() / 2, stored.size() - 1}) {
            auto damaged = stored;
            damaged[at] ^= std::byte{0x10};
            CHECK(error_code_of([&] { decode_chunk(damaged, checked, 0, chunk.size()); }) == EIO);
        }
    }
    SECTION("too short for its checksum") {
        CHECK(error_code_of([&] { decode_chunk(bytes("abc"), checked, 0, chunk.size()); }) == EIO);
    }
    SECTION("a truncated deflate stream") {
        auto stored = h5test::encode(chunk, plain);
        stored.resize(stored.size() / 2);
        CHECK(error_code_of([&] { decode_chunk(stored, plain, 0, chunk.size()); }) == EIO);
    }
    SECTION("not a deflate stream") {
        CHECK(error_code_of([&] { decode_chunk(random_bytes(300, 6), plain, 0, chunk.size()); }) == EIO);
    }
    SECTION("a stream that holds more than a chunk") {
        const auto big = h5test::deflate(random_bytes(2 * chunk.size(), 7, 3));
        CHECK(error_code_of([&] { decode_chunk(big, plain, 0, chunk.size()); }) == EIO);
    }
    SECTION("a stream that holds less than a chunk") {
        const auto small = h5test::deflate(random_bytes(chunk.size() - 1, 7, 3));
        CHECK(error_code_of([&] { decode_chunk(small, plain, 0, chunk.size()); }) == EIO);
    }
    SECTION("unfiltered bytes of the wrong length") {
        CHECK(error_code_of([&] { decode_chunk(random_bytes(10, 8), {}, 0, 12); }) == EIO);
    }
}

TEST_CASE("byte swaps reverse each named field of every element") {
    std::vector<std::byte> data;
    for (int i = 0; i < 3 * 16; ++i) data.push_back(static_cast<std::byte>(i));
    const auto original = data;
    // An element of 16 bytes: a 2-byte field at 0, a 4-byte at 2, a byte at 6, an 8-byte at 8;
    // a 3-byte field (odd, as in a custom type) at 7 is not there, 16-byte elements only.
    const std::vector<ByteSwap> swaps = {{0, 2}, {2, 4}, {6, 1}, {8, 8}};
    swap_bytes(data, 16, swaps);
    for (std::size_t e = 0; e < 3; ++e) {
        const std::size_t b = e * 16;
        CHECK(data[b + 0] == original[b + 1]);
        CHECK(data[b + 1] == original[b + 0]);
        for (int i = 0; i < 4; ++i) CHECK(data[b + 2 + i] == original[b + 5 - i]);
        CHECK(data[b + 6] == original[b + 6]);
        CHECK(data[b + 7] == original[b + 7]);
        for (int i = 0; i < 8; ++i) CHECK(data[b + 8 + i] == original[b + 15 - i]);
    }
    std::vector<std::byte> odd = original;
    swap_bytes(odd, 16, std::vector<ByteSwap>{{1, 3}, {4, 12}});
    CHECK(odd[1] == original[3]);
    CHECK(odd[3] == original[1]);
    CHECK(odd[4] == original[15]);
}
