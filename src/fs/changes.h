// What this mount's own writers changed, generation by generation.
//
// A reader whose hold was cut (pins.h) continues only if every generation since
// its own came from this mount and none of them touched its dataset; that is
// what lets `cp /mnt/a /mnt/b` read a while b is created through the same mount.
#pragma once

#include <hdf5.h>

#include <cstdint>
#include <map>
#include <mutex>
#include <set>

namespace h5swmrfs::fs {

class LocalChanges {
public:
    // Generation `generation` is an exclusive hold of this mount.
    void record(std::uint64_t generation);
    // ... and it changes (or may have changed) the object at `address`.
    void touch(std::uint64_t generation, haddr_t address);
    // ... and it may have changed any object (a write of a virtual dataset writes others).
    void touch_all(std::uint64_t generation) { touch(generation, kAll); }
    // True when every generation in (from, to] is this mount's and none touched `address`.
    bool untouched(std::uint64_t from, std::uint64_t to, haddr_t address) const;

private:
    static constexpr std::size_t kKept = 4096;
    static constexpr haddr_t kAll = HADDR_UNDEF;  // no object's address
    mutable std::mutex mutex_;
    std::map<std::uint64_t, std::set<haddr_t>> touched_;  // this mount's generations
};

}  // namespace h5swmrfs::fs
