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
};

// The process layer (process_lock.cpp) over `backend`: what make_lock returns.
std::unique_ptr<Lock> make_process_lock(const Options& options, std::unique_ptr<Backend> backend);

std::unique_ptr<Backend> make_redis_backend(const Options& options);
std::unique_ptr<Backend> make_local_backend(const Options& options);

}  // namespace h5swmrfs::lock
