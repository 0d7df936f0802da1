#include "fs/changes.h"

namespace h5swmrfs::fs {

void LocalChanges::record(std::uint64_t generation) {
    std::lock_guard guard(mutex_);
    touched_[generation];
    while (touched_.size() > kKept) touched_.erase(touched_.begin());
}

void LocalChanges::touch(std::uint64_t generation, haddr_t address) {
    std::lock_guard guard(mutex_);
    touched_[generation].insert(address);
}

bool LocalChanges::untouched(std::uint64_t from, std::uint64_t to, haddr_t address) const {
    if (to < from) return false;  // the generation went back: not a history this mount can vouch for
    std::lock_guard guard(mutex_);
    for (std::uint64_t generation = from + 1; generation <= to; ++generation) {
        auto it = touched_.find(generation);
        if (it == touched_.end() || it->second.count(address) || it->second.count(kAll)) return false;
    }
    return true;
}

}  // namespace h5swmrfs::fs
