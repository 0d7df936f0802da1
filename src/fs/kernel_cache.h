// What the kernel keeps for this mount (attributes, names, pages), and emptying it.
//
// The rule: the kernel may answer from a cache only what was filled under a shared hold
// this process still holds, or under one it gave up and has not yet reported dropped.
// Every backend shared hold the mount gives up (a writer waits anywhere, its lease is in
// doubt) is a *drop* (lock.h): once every request that answered under it has sent its
// answer, this thread tells the kernel to forget everything filled since the last drop,
// then reports the drop done. A writer anywhere waits for those reports after it released
// its exclusive hold and before its close() returns (lock::Lock::wait_for_drops), so an
// access that starts after a change returned finds no cache from before it.
//
// Emptying before giving the hold up would deadlock: the kernel's invalidation waits for
// page and directory locks that requests hold while they wait for the lock (a read of an
// uncached page, a lookup), and those wait for the writer that waits for this hold.
//
// A request takes part from the moment it holds a shared hold (join_shared, called by
// locked()) until its answer is sent (request_ended, called by reply's request scope):
// drops wait for the requests that joined before them (two epochs, as in RCU).
#pragma once

#include "fs/fuse.h"

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>
#include <unordered_map>
#include <unordered_set>

namespace h5swmrfs::fs {

// How the kernel is told to forget (fuse_lowlevel_notify_inval_*); a fake in unit tests.
class KernelNotices {
public:
    virtual ~KernelNotices() = default;
    // Attributes, and the pages too when `pages`.
    virtual void forget_inode(fuse_ino_t ino, bool pages) = 0;
    virtual void forget_entry(fuse_ino_t parent, std::string_view name) = 0;
};

// The notices of a mounted session.
std::unique_ptr<KernelNotices> session_notices(fuse_session* session);

class KernelCache {
public:
    // How long the kernel keeps names and attributes: until told to forget them. The
    // bound is a safety net for a daemon killed without -o auto_unmount, whose kernel
    // keeps what it cached (asking again once a minute costs nothing under a kept hold).
    static constexpr double kTimeout = 60.0;
    // The mount point's own attributes are asked again after this: a stat(2) of the mount
    // point of a killed daemon fails with ENOTCONN within it, as tools that tell a dead
    // mount (mountpoint, df, scripts) expect. (Not 0: every path walk checks the root's
    // permissions, and would ask each time.)
    static constexpr double kRootTimeout = 1.0;

    // How far past a sequential reader the page cache asks for pages: two whole requests
    // (kMaxRead each), not the kernel's 128 KiB, so the daemon serves the next while the
    // reader copies one, in an eighth of the round trips. Set at mount (root only); the
    // init reply's max_readahead must allow it.
    static constexpr unsigned kReadaheadKiB = 2 * (kMaxRead >> 10);

    explicit KernelCache(bool enabled) : enabled_(enabled) {}
    ~KernelCache() { stop(); }
    KernelCache(const KernelCache&) = delete;
    KernelCache& operator=(const KernelCache&) = delete;

    // false (--no-cache): every answer has timeout 0 and every open is direct_io.
    bool enabled() const { return enabled_; }

    // Starts the thread that empties the kernel's caches; `done(id)` reports a drop.
    // `fault_point` names the test-only pause point passed before each emptying.
    void start(std::unique_ptr<KernelNotices> notices, std::function<void(std::uint64_t)> done,
               std::string fault_point = "cache-drop");
    // Ends the threads. One that has not ended after a moment waits in the kernel for a
    // request (kernel_cache.cpp): `unstick` is called then, to fail that request.
    void stop(const std::function<void()>& unstick = {});

    // --- the request this thread serves
    // It holds a shared hold: what it answers may be cached.
    void join_shared();
    // It changes the file: nothing it answers is cached.
    static void join_exclusive();
    // Its answer was sent (or it failed): drops no longer wait for it.
    static void request_ended();

    // --- what a request answers (each records what the kernel may keep, when it may)
    // Sets the timeouts of an entry reply for `name` in `parent`. A name that does not
    // exist (ino 0) is not cached: a name made elsewhere must show at once.
    void entry(fuse_entry_param& entry, fuse_ino_t parent, std::string_view name);
    // The timeout of an attribute reply for `ino`.
    double attributes(fuse_ino_t ino);
    // A read of `ino` answered with its bytes of `generation`.
    void pages(fuse_ino_t ino, std::uint64_t generation);
    // A read of `ino` answered with bytes that are not the file's (an open's own staged
    // writes, which a private mapping of a writable descriptor reads into the page cache):
    // forgotten as soon as the answer is sent.
    void tainted(fuse_ino_t ino);
    // Whether an open of `ino` under a hold of `generation` may keep the pages the kernel
    // has: true only when every page it may have is of that generation.
    bool keep_pages(fuse_ino_t ino, std::uint64_t generation);
    // A reader's open of `ino` under a hold of `generation`: returns keep_pages(), and
    // unless that is true with no drop pending, has the kernel forget the inode's
    // attributes before the open is answered. Attributes filled under a hold
    // given up stay until its drop has been made (above), but what this open reads is of
    // its own generation: its fstat(2) must find that version's size too, or a mapping of
    // that size shows zeros past a new end (NFS, likewise, asks the server at each open).
    bool opened(fuse_ino_t ino, std::uint64_t generation);

    // --- the lock
    // A shared hold of this process was given up (lock.h on_shared_released): empty, report.
    void drop(std::uint64_t id);

private:
    struct Fills {
        std::unordered_map<fuse_ino_t, bool> inodes;  // ino -> pages too
        std::unordered_set<std::string> entries;      // parent ino (8 bytes) + name
    };
    bool cacheable() const;
    Fills& current();  // the fills of this thread's request; under mutex_
    void run();
    void forget_inodes(const Fills& fills);
    void expire_names();
    // page_generation_'s value for pages of several generations, or staged bytes.
    static constexpr std::uint64_t kMixed = UINT64_MAX;

    const bool enabled_;
    mutable std::mutex mutex_;
    std::condition_variable changed_;
    std::uint64_t epoch_ = 0;
    int active_[2] = {0, 0};  // requests joined in epoch parity 0 / 1
    int draining_ = -1;       // the parity a pass waits for, or -1
    Fills fills_[2];
    std::unordered_map<fuse_ino_t, std::uint64_t> page_generation_;  // kMixed: mixed or staged
    std::deque<std::string> names_;  // forgotten after their drop was reported (expire_names)
    struct Pending {
        std::uint64_t id;  // 0: staged bytes read, nothing to report
        std::chrono::steady_clock::time_point since;
    };
    std::deque<Pending> drops_;  // waiting for a pass
    bool passing_ = false;       // a pass runs that has not yet had the kernel forget
    bool stopping_ = false;
    int running_ = 0;  // threads not yet ended

    std::unique_ptr<KernelNotices> notices_;
    std::function<void(std::uint64_t)> done_;
    std::string fault_point_;
    std::thread thread_;
    std::thread names_thread_;
};

}  // namespace h5swmrfs::fs
