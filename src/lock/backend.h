// What a lock backend provides to the process layer (process_lock.cpp): single grants
// between processes. Sharing among threads and keeping holds idle live above it.
#pragma once

#include "lock/lock.h"

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>

namespace h5swmrfs::lock {

using Clock = std::chrono::steady_clock;

// One grant from a backend. The destructor releases it and never throws.
class BackendHold {
public:
    virtual ~BackendHold() = default;
    virtual Mode mode() const noexcept = 0;
    virtual std::uint64_t generation() const noexcept = 0;
    virtual std::uint64_t fence() const noexcept = 0;
    virtual void check_valid() const = 0;  // throws Error(EIO)
    // Gives a shared hold up as a drop: atomically with the release the backend records
    // that this process may still serve what it read under the hold, until
    // Backend::dropped(id). The returned id is new even when nothing could be recorded (the
    // hold had expired or was broken, the backend was unreachable): dropped(id) is then a
    // no-op. The destructor then has nothing left to release. Never throws.
    virtual Drop release_as_drop() noexcept = 0;
    bool valid() const noexcept {
        try {
            check_valid();
            return true;
        } catch (...) {
            return false;
        }
    }
};

class Backend {
public:
    virtual ~Backend() = default;
    // Blocks until granted or `deadline`: Error(EBUSY) for a lock that stayed taken,
    // Error(EIO) for a backend that stayed unreachable.
    virtual std::unique_ptr<BackendHold> acquire(Mode mode, Clock::time_point deadline) = 0;
    virtual void check_reachable() = 0;
    virtual std::uint64_t current_generation() = 0;
    // `handler` runs (on a backend thread; it must not block) whenever some process starts
    // or keeps waiting for an exclusive hold. Set once, before the first acquire.
    virtual void on_writer_waiting(std::function<void()> handler) = 0;
    // `handler` runs (on a backend thread; it must not block) whenever the lease of one of
    // this process's holds is in doubt: a renewal failed or came after the hold's trusted
    // time, the hold is gone from the server (expired, broken), or the connection to the
    // server was lost. Backends without leases never call it. Set once, before the first acquire.
    virtual void on_lease_in_doubt(std::function<void()> handler) = 0;
    // Lock::dropped and Lock::wait_for_drops; the wait gives up at `deadline` and returns
    // false (true: no drop left to wait for). Neither throws.
    virtual void dropped(std::uint64_t id) noexcept = 0;
    virtual bool wait_for_drops(std::uint64_t generation, bool others_only, Clock::time_point deadline) noexcept = 0;
};

// The process layer (process_lock.cpp) over `backend`: what make_lock returns.
std::unique_ptr<Lock> make_process_lock(const Options& options, std::unique_ptr<Backend> backend);

std::unique_ptr<Backend> make_redis_backend(const Options& options);
std::unique_ptr<Backend> make_local_backend(const Options& options);
std::unique_ptr<Backend> make_h5pyswmr_backend(const Options& options);

}  // namespace h5swmrfs::lock
