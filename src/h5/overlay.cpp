#include "h5/overlay.h"

#include <algorithm>

namespace h5swmrfs::h5 {

void Overlay::put(std::uint64_t address, std::uint64_t length, std::uint64_t source) {
    if (length == 0) return;
    const std::uint64_t end = address + length;
    // A piece that starts before `address` and reaches into the range keeps its head;
    // if it reaches past the range, its tail is kept too.
    auto it = pieces_.lower_bound(address);
    if (it != pieces_.begin()) {
        auto before = std::prev(it);
        if (before->second.end > address) {
            const Extent old = before->second;
            before->second.end = address;
            if (old.end > end) pieces_.emplace(end, Extent{old.end, old.source + (end - before->first)});
        }
    }
    // Pieces that start inside the range: dropped, or their tail kept.
    it = pieces_.lower_bound(address);
    while (it != pieces_.end() && it->first < end) {
        const std::uint64_t start = it->first;
        const Extent old = it->second;
        it = pieces_.erase(it);
        if (old.end > end) {
            pieces_.emplace(end, Extent{old.end, old.source + (end - start)});
            break;
        }
    }
    pieces_.emplace(address, Extent{end, source});
}

std::vector<Overlay::Piece> Overlay::find(std::uint64_t address, std::uint64_t length) const {
    std::vector<Piece> found;
    if (length == 0) return found;
    const std::uint64_t end = address + length;
    auto it = pieces_.upper_bound(address);
    if (it != pieces_.begin()) --it;
    for (; it != pieces_.end() && it->first < end; ++it) {
        const std::uint64_t from = std::max(it->first, address);
        const std::uint64_t to = std::min(it->second.end, end);
        if (from >= to) continue;
        found.push_back(Piece{from, to - from, it->second.source + (from - it->first)});
    }
    return found;
}

std::uint64_t Overlay::end() const { return pieces_.empty() ? 0 : pieces_.rbegin()->second.end; }

}  // namespace h5swmrfs::h5
