// What `h5swmrfs-ctl status` and `break` need: the lock's state read from the backend
// and the hand-made release. The mount itself never uses these.
#pragma once

#include "lock/lock.h"

#include <cstdint>
#include <string>
#include <vector>

namespace h5swmrfs::lock {

struct Participant {
    std::string token;       // redis: the entry's token; local: the kernel lock's id
    std::string state;       // "holding" | "broken" | "waiting" | "dropping" | "expired"
    std::string mode;        // "S" | "X" | "?"
    std::string host;
    long pid = 0;
    std::string label;       // mount point or command
    double age_seconds = -1;          // since granted (holding) or since it began to wait; -1 unknown
    double lease_left_seconds = -1;   // -1: no lease (local)
    std::uint64_t generation = 0;     // drops: the generation of the hold that was dropped
};

// h5pyswmr: one of h5pySWMR's simple locks.
struct SimpleLock {
    std::string name;          // mutex1, mutex2, mutex3, r, w
    std::string holder;        // its id; empty: free
    double ttl_seconds = -1;   // -1: free, or no TTL (then it stays until deleted: see `missing_ttl`)
    bool missing_ttl = false;
};

struct LockStatus {
    std::string backend;     // "redis" | "local" | "h5pyswmr"
    std::string key;         // lock key (redis) or sidecar path (local)
    std::string where;       // redis URL without password, or the sidecar path
    std::uint64_t generation = 0;
    std::uint64_t fence = 0;
    std::vector<Participant> holders;
    std::vector<Participant> waiting;
    // Shared holds of caching processes released as drops, not yet reported dropped: writers
    // of later generations wait for them (docs/LOCKING.md, "Cache drops").
    std::vector<Participant> drops;
    // h5pyswmr: readcount, writecount and this backend's own counters; the simple locks.
    std::vector<std::pair<std::string, long long>> counters;
    std::vector<SimpleLock> simple_locks;
};

// Throws Error: EIO (redis), ENOENT (no sidecar), EINVAL (backend).
LockStatus read_status(const Options& options);

struct BreakResult {
    std::size_t holds = 0;    // holds broken now
    std::size_t waiting = 0;  // waiting writers taken out of the queue
    double free_in_seconds = 0;  // until the last broken lease ends, by the server's clock
    std::size_t keys_deleted = 0;  // h5pyswmr: of its seven keys
};

// Breaks every hold (redis): its holder can no longer renew it and finds out at its next
// renewal, but nobody else is granted a conflicting hold before the broken lease runs out by
// the server's clock, so a broken writer that is still alive never overlaps a new one.
// Waiting writers leave the queue; the generation moves on.
// The local backend cannot be broken: throws Error(EPERM) naming the holding pids.
// h5pyswmr: deletes the protocol's seven keys of the file at once (h5pySWMR has no leases to
// wait for) and moves the break epoch, so that holders still alive do not take back counts
// that are no longer theirs.
BreakResult break_lock(const Options& options);

}  // namespace h5swmrfs::lock
