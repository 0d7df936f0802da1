// Staging: what a writer's open file holds before its commit, against a byte model:
// random writes and truncates, in memory and spilled to a temporary file.
#include <catch2/catch.hpp>

#include <filesystem>
#include <random>
#include <vector>

#include "fs/staging.h"

using h5swmrfs::fs::Staging;

namespace {

// Bytes written and not cut off again, -1 where nothing is staged.
struct Model {
    std::vector<int> bytes;
    std::uint64_t size;
};

void check_against(const Staging& staging, const Model& model) {
    REQUIRE(staging.size() == model.size);
    std::uint64_t written = 0, last_end = 0;
    bool first = true;
    for (const auto& [start, end] : staging.ranges()) {
        REQUIRE(start < end);
        if (!first) REQUIRE(start > last_end);  // disjoint and not touching
        first = false;
        last_end = end;
        written += end - start;
    }
    CHECK(staging.written_bytes() == written);
    std::uint64_t model_end = 0, model_written = 0;
    for (std::size_t i = 0; i < model.bytes.size(); ++i)
        if (model.bytes[i] >= 0) model_end = i + 1, ++model_written;
    CHECK(written == model_written);
    CHECK(staging.written_end() == model_end);
    std::vector<std::byte> seen(model.bytes.size(), std::byte{0xEE});
    staging.overlay(0, seen);
    for (std::size_t i = 0; i < seen.size(); ++i) {
        const int want = model.bytes[i] < 0 ? 0xEE : model.bytes[i];
        if (static_cast<int>(seen[i]) != want) FAIL("byte " << i << ": " << int(seen[i]) << " != " << want);
    }
}

void random_run(std::uint64_t space, std::uint64_t max_write, int steps, unsigned seed) {
    const std::string dir = std::filesystem::temp_directory_path();
    Staging staging(0, false, dir);
    Model model{std::vector<int>(space, -1), 0};
    std::mt19937_64 rng(seed);
    for (int step = 0; step < steps; ++step) {
        if (rng() % 10 == 0) {
            const std::uint64_t size = rng() % space;
            staging.truncate(size);
            for (std::uint64_t i = size; i < space; ++i) model.bytes[i] = -1;
            model.size = size;
        } else {
            const std::uint64_t length = 1 + rng() % max_write;
            const std::uint64_t offset = rng() % (space - length);
            std::vector<std::byte> data(length);
            const int value = static_cast<int>(rng() % 256);
            for (auto& b : data) b = std::byte(value);
            staging.write(offset, data);
            for (std::uint64_t i = offset; i < offset + length; ++i) model.bytes[i] = value;
            model.size = std::max(model.size, offset + length);
        }
        check_against(staging, model);
    }
}

}  // namespace

TEST_CASE("staged writes merge into disjoint ranges that hold the last bytes written") {
    for (unsigned seed = 1; seed <= 20; ++seed) random_run(4096, 300, 200, seed);
}

TEST_CASE("staged writes past 8 MiB move to a spill file and read back the same") {
    random_run(24u << 20, 3u << 20, 24, 99);
}

TEST_CASE("adjacent writes join one range; a gap keeps two") {
    Staging staging(100, false, std::filesystem::temp_directory_path());
    const std::vector<std::byte> four(4, std::byte{1});
    staging.write(10, four);
    staging.write(14, four);
    staging.write(30, four);
    REQUIRE(staging.ranges().size() == 2);
    CHECK(staging.ranges().at(10) == 18);
    CHECK(staging.ranges().at(30) == 34);
    CHECK(staging.size() == 100);  // patches keep the size the dataset had
    CHECK_FALSE(staging.replaces());
    staging.truncate(0);  // ftruncate(fd, 0), then writes: a replacement
    CHECK(staging.replaces());
    CHECK(staging.ranges().empty());
}
