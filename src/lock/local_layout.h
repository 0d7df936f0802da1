// The local backend's sidecar file (docs/LOCKING.md): where its counters are and which bytes
// its kernel locks stand on. Shared by the backend and `h5swmrfs-ctl status`.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <limits>

namespace h5swmrfs::lock::local_layout {

// Data (u64, host byte order).
constexpr off_t generation_offset = 0;
constexpr off_t fence_offset = 8;
constexpr off_t writer_waiting_offset = 16;
// Lock bytes.
constexpr off_t turnstile_byte = 64;
constexpr off_t rw_byte = 65;
constexpr off_t counter_guard_byte = 66;
// Drops: a drop of generation G write-locks one byte of
// [drop_region + G * drop_slots, drop_region + (G + 1) * drop_slots), so that a writer of
// generation W waits for the older ones with one read lock on [drop_region, drop_region + W * drop_slots).
constexpr off_t drop_region = 4096;
constexpr off_t drop_slots = off_t{1} << 16;
// Generations up to this have drop bytes; beyond it (never reached by counting) none.
constexpr std::uint64_t last_drop_generation =
    static_cast<std::uint64_t>((std::numeric_limits<off_t>::max() - drop_region) / drop_slots) - 1;

constexpr off_t drop_generation_start(std::uint64_t generation) {
    return drop_region + static_cast<off_t>(generation) * drop_slots;
}

}  // namespace h5swmrfs::lock::local_layout
