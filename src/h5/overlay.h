// Which byte ranges of a file have been rewritten, and where the new bytes are.
//
// A pure interval map for the journal (journal.h): every range written lies in
// the journal at some offset; a later write over the same bytes wins. Ranges
// never overlap; adjacent ranges are kept apart (they come from different records).
#pragma once

#include <cstdint>
#include <map>
#include <vector>

namespace h5swmrfs::h5 {

class Overlay {
public:
    // Bytes [address, address + length) of the file are now at `source` onwards.
    void put(std::uint64_t address, std::uint64_t length, std::uint64_t source);

    struct Piece {
        std::uint64_t address;  // in the file
        std::uint64_t length;
        std::uint64_t source;   // where these bytes are
    };
    // The rewritten parts of [address, address + length), in address order.
    std::vector<Piece> find(std::uint64_t address, std::uint64_t length) const;

    // One past the last rewritten byte (0 when nothing is).
    std::uint64_t end() const;
    bool empty() const { return pieces_.empty(); }
    std::size_t size() const { return pieces_.size(); }

private:
    struct Extent {
        std::uint64_t end;
        std::uint64_t source;
    };
    std::map<std::uint64_t, Extent> pieces_;  // by start address
};

}  // namespace h5swmrfs::h5
