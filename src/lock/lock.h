// The cross-process readers–writer lock that every filesystem operation runs under.
// No FUSE and no HDF5 here: src/fs decides what to lock, this layer how.
//
// Layers (docs/LOCKING.md has the protocol):
//   Lock (process_lock.cpp)  — shares one backend shared hold among the threads of a
//                              process, serializes the process's writers, gives the kept
//                              shared hold up as soon as a writer waits anywhere;
//   Backend (backend.h)      — redis (redis_backend.cpp), local (local_backend.cpp) or
//                              h5pySWMR's keys and steps (h5pyswmr_backend.cpp):
//                              one grant per call, between processes and hosts.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>

namespace h5swmrfs::lock {

enum class Mode { Shared, Exclusive };

// A dropped shared hold: what a caching process must empty before it reports dropped(id).
// `id` is unique within the Lock; `generation` is the generation the hold was granted in.
struct Drop {
    std::uint64_t id = 0;
    std::uint64_t generation = 0;
};

// One hold of the lock. Destroying it releases it (or, for a shared hold that
// the mount keeps between operations, gives this operation's share back).
// A thread must not ask for a second hold while it has one (no upgrade, no recursion):
// it would wait for itself. Destroy every Hold before its Lock.
class Hold {
public:
    virtual ~Hold() = default;
    virtual Mode mode() const noexcept = 0;
    // Number of exclusive holds ever granted on this key (plus one per `h5swmrfs-ctl break`),
    // including this one if exclusive. A mount's cached view of the file is valid while
    // this has not moved.
    virtual std::uint64_t generation() const noexcept = 0;
    // Strictly increasing across exclusive holds; a write may carry it to prove it is current.
    virtual std::uint64_t fence() const noexcept = 0;
    // Throws Error(EIO) once the lease can no longer be guaranteed to be ours
    // (renewal failed or came too late, the lock was broken, redis restarted).
    // Once it has thrown for a lost lease it throws forever.
    // Writers call it before every step that changes the file.
    virtual void check_valid() const = 0;
    // A shared hold that a writer waits for (no new user joins it, it goes once its users
    // are done): its users should let go soon. Changes from false to true only.
    virtual bool wanted() const noexcept { return false; }
};

struct Options {
    std::string backend = "redis";        // redis | local | h5pyswmr
    std::string key;                      // lock name; default: default_key(FILE.h5)
    std::string redis_url;                // redis://[:PASSWORD@]HOST[:PORT][/DB] or unix:///PATH.sock[?db=N]
                                          // empty: $H5SWMRFS_REDIS, else redis://127.0.0.1:6379/0
    std::string redis_password;           // from --redis-password-file; overrides the URL's
    std::string local_lock_file;          // local backend: sidecar file, sidecar_path(FILE.h5)
    std::string data_file;                // h5pyswmr backend: FILE.h5, whose change time and size
                                          // are part of the generation (empty: the counter only)
    std::chrono::milliseconds lease{15000};
    std::chrono::milliseconds timeout{60000};
    std::string holder_label;             // shown by `h5swmrfs-ctl status`: e.g. the mount point
    // How long the process keeps an unused shared hold for the next operation. It is given
    // up at once when a writer waits anywhere. 0: release as soon as the last user is done.
    std::chrono::milliseconds keep_idle{1000};
    // keep_idle of a process that keeps its shared hold until someone else needs the lock
    // (a caching mount): never given up for being idle.
    static constexpr std::chrono::milliseconds keep_forever = std::chrono::hours(24 * 365 * 100);
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
    // `handler` runs when a writer starts waiting (here or anywhere) while this process
    // has shared holds in use: their users should finish soon. It runs on a lock thread
    // with no lock of this layer held, must not block, and may run more than once per
    // writer. Set it once, before the first acquire.
    virtual void on_writer_waiting(std::function<void()> handler) = 0;
    // `handler` runs when the lease of one of this process's holds is in doubt (backend.h),
    // in a caching process (on_shared_released) only: what it read under that hold must not
    // be served any longer, so its users should let it go now. Same rules as above.
    virtual void on_lease_in_doubt(std::function<void()> handler) = 0;

    // Cache drops (docs/LOCKING.md, "Cache drops"): a process that lets the kernel cache what
    // it read under a shared hold must empty that cache after it gave the hold up (emptying
    // it before would wait on requests that wait for the lock), and a writer must not return
    // from its change before every such process has.
    //
    // Makes this process a caching one: from now on every backend shared hold it gives up
    // (writer waiting, lease in doubt, idle) is released as a *drop*: atomically with the
    // release the lock records "this process still may serve what it read under generation
    // G" (with a lease that this process's renewer keeps extending), then calls
    // handler(drop) on a lock thread, never on the thread of an operation (it must not
    // block long; it may be called concurrently with anything). The process calls
    // dropped(drop.id) once it emptied its caches. A kept shared hold whose lease is in
    // doubt (renewal failed or came too late, backend unreachable, hold broken) is given up
    // like one a writer waits for. Set once, before the first acquire. Releases in the Lock's
    // destructor are plain, and drops still pending then are reported dropped (unmounting
    // empties the kernel's caches anyway).
    virtual void on_shared_released(std::function<void(const Drop&)> handler) = 0;
    // Reports that drop `id` is done; idempotent; never throws (logs a failure; the entry then
    // ends with its lease).
    virtual void dropped(std::uint64_t id) noexcept = 0;
    // Called by a writer after it released an exclusive hold of generation `generation`:
    // blocks until every drop of a generation < `generation` recorded for this key, by any
    // process (except this process's own when `others_only`), was reported dropped or its
    // lease ran out. Bounded by the lock timeout (then logs a warning and returns). Never throws.
    virtual void wait_for_drops(std::uint64_t generation, bool others_only) noexcept = 0;
};

// Something that must be set right before anyone uses what the lock guards (in
// h5swmrfs: the unfinished commit of a writer that died halfway).
struct Repair {
    std::function<bool()> pending;  // cheap: asked after every acquire
    std::function<void()> repair;   // runs under an exclusive hold
};

// lock.acquire(mode), once nothing is pending: for a shared hold, the hold is given
// back and the repair done under an exclusive one first.
std::unique_ptr<Hold> acquire_repaired(Lock& lock, Mode mode, const Repair& repair);

// Throws Error(EINVAL) for an unknown backend, a malformed URL
// or a missing key / sidecar path.
std::unique_ptr<Lock> make_lock(const Options& options);

// The default lock key of FILE.h5: its canonical absolute path (symbolic links and `..`
// resolved). A file that does not exist yet (--create) gets its canonical directory plus
// its name. Throws Error(errno) when the directory cannot be resolved.
std::string default_key(const std::string& file);

// The local backend's sidecar lock file of FILE.h5: default_key(FILE.h5) + ".h5swmrfs-lock".
std::string sidecar_path(const std::string& file);

// The redis URL to use when none is given: $H5SWMRFS_REDIS, else redis://127.0.0.1:6379/0.
std::string default_redis_url();

}  // namespace h5swmrfs::lock
