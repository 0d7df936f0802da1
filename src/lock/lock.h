// The cross-process readers–writer lock that every filesystem operation runs under.
// No FUSE and no HDF5 here: src/fs decides what to lock, this layer how.
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <string>

namespace h5swmrfs::lock {

enum class Mode { Shared, Exclusive };

// One hold of the lock. Destroying it releases it (or, for a shared hold that
// the mount keeps between operations, gives this operation's share back).
class Hold {
public:
    virtual ~Hold() = default;
    virtual Mode mode() const noexcept = 0;
    // Number of exclusive holds ever granted on this key, including this one if exclusive.
    // A mount's cached view of the file is valid while this has not moved.
    virtual std::uint64_t generation() const noexcept = 0;
    // Strictly increasing across exclusive holds; a write may carry it to prove it is current.
    virtual std::uint64_t fence() const noexcept = 0;
    // Throws Error(EIO) once the lease can no longer be guaranteed to be ours
    // (renewal failed or came too late). Writers call it before every step that changes the file.
    virtual void check_valid() const = 0;
};

struct Options {
    std::string backend = "redis";        // redis | local | h5pyswmr
    std::string key;                      // lock name; default: canonical path of FILE.h5
    std::string redis_url;                // redis://[:PASSWORD@]HOST[:PORT][/DB] or unix:///PATH.sock[?db=N]
    std::string redis_password;           // from --redis-password-file; overrides the URL's
    std::string local_lock_file;          // local backend: sidecar file path
    std::chrono::milliseconds lease{15000};
    std::chrono::milliseconds timeout{60000};
    std::string holder_label;             // shown by `h5swmrfs-ctl status`: e.g. the mount point
};

class Lock {
public:
    virtual ~Lock() = default;
    // Blocks until granted. Throws Error(EBUSY) when the wait passes the timeout,
    // Error(EIO) when the backend stays unreachable for the timeout.
    virtual std::unique_ptr<Hold> acquire(Mode mode) = 0;
    // Checks the backend is reachable and the credentials work; throws Error with one clear line.
    virtual void check_reachable() = 0;
    // The generation as the backend knows it now (no hold needed).
    virtual std::uint64_t current_generation() = 0;
};

// Throws Error(EINVAL) for an unknown backend or a malformed URL.
std::unique_ptr<Lock> make_lock(const Options& options);

}  // namespace h5swmrfs::lock
