// The journal's interval map against a byte-by-byte model: every sequence of
// writes over a small file, then every range looked up.
#include <catch2/catch.hpp>

#include <cstdint>
#include <optional>
#include <random>
#include <vector>

#include "h5/overlay.h"

using h5swmrfs::h5::Overlay;

namespace {

constexpr std::uint64_t kFile = 24;
constexpr std::uint64_t kNone = ~std::uint64_t{0};

// The model: for each byte of the file, where its newest copy is (kNone: not rewritten).
using Model = std::vector<std::uint64_t>;

void put(Overlay& overlay, Model& model, std::uint64_t address, std::uint64_t length, std::uint64_t source) {
    overlay.put(address, length, source);
    for (std::uint64_t i = 0; i < length; ++i) model[address + i] = source + i;
}

// Checks every range of the file against the model: pieces in order, not overlapping,
// exactly the rewritten bytes, each byte's source right.
void check_all_ranges(const Overlay& overlay, const Model& model) {
    for (std::uint64_t address = 0; address <= kFile; ++address) {
        for (std::uint64_t length = 0; address + length <= kFile; ++length) {
            Model seen(kFile, kNone);
            std::uint64_t last_end = 0;
            for (const Overlay::Piece& piece : overlay.find(address, length)) {
                REQUIRE(piece.length > 0);
                REQUIRE(piece.address >= address);
                REQUIRE(piece.address >= last_end);
                REQUIRE(piece.address + piece.length <= address + length);
                last_end = piece.address + piece.length;
                for (std::uint64_t i = 0; i < piece.length; ++i) seen[piece.address + i] = piece.source + i;
            }
            for (std::uint64_t i = 0; i < kFile; ++i) {
                const bool inside = i >= address && i < address + length;
                INFO("range " << address << "+" << length << ", byte " << i);
                REQUIRE(seen[i] == (inside ? model[i] : kNone));
            }
        }
    }
    std::uint64_t end = 0;
    for (std::uint64_t i = 0; i < kFile; ++i)
        if (model[i] != kNone) end = i + 1;
    REQUIRE(overlay.end() == end);
}

}  // namespace

TEST_CASE("overlay: one write over another, every placement of both") {
    for (std::uint64_t a = 0; a < kFile; ++a)
        for (std::uint64_t la = 1; a + la <= kFile; la += 3)
            for (std::uint64_t b = 0; b < kFile; ++b)
                for (std::uint64_t lb = 1; b + lb <= kFile; lb += 2) {
                    Overlay overlay;
                    Model model(kFile, kNone);
                    put(overlay, model, a, la, 1000);
                    put(overlay, model, b, lb, 5000);
                    INFO("first " << a << "+" << la << ", second " << b << "+" << lb);
                    for (std::uint64_t i = 0; i < kFile; ++i) {
                        auto pieces = overlay.find(i, 1);
                        REQUIRE(pieces.size() == (model[i] == kNone ? 0u : 1u));
                        if (!pieces.empty()) REQUIRE(pieces[0].source == model[i]);
                    }
                }
}

TEST_CASE("overlay: random sequences of writes, every range checked") {
    std::mt19937_64 random(20261124);
    for (int round = 0; round < 300; ++round) {
        Overlay overlay;
        Model model(kFile, kNone);
        const int writes = 1 + static_cast<int>(random() % 8);
        for (int w = 0; w < writes; ++w) {
            const std::uint64_t address = random() % kFile;
            const std::uint64_t length = random() % (kFile - address + 1);
            put(overlay, model, address, length, 100000 * (w + 1));
        }
        check_all_ranges(overlay, model);
    }
}

TEST_CASE("overlay: empty writes and lookups") {
    Overlay overlay;
    overlay.put(5, 0, 1);
    REQUIRE(overlay.empty());
    REQUIRE(overlay.end() == 0);
    overlay.put(5, 3, 10);
    REQUIRE(overlay.find(5, 0).empty());
    REQUIRE(overlay.find(0, 5).empty());
    REQUIRE(overlay.find(8, 100).empty());
    REQUIRE(overlay.size() == 1);
}
