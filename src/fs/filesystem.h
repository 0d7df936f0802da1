// The mounted filesystem: the state every operation shares.
//
// Lock order, outermost first:
//   1. the cross-process lock hold (src/lock) — taken first, never while holding 2–4
//      (operations take it through locked(), fs/locked.h);
//   2. Filesystem::view_mutex (shared for operations, exclusive to reopen the file);
//   3. OpenTruncations' mutex, or the pins' (Pins::mutex_), then an open file's own mutex
//      (the pins' looks at each open of an inode in turn);
//   4. the inode table's mutex, LocalChanges' (leaves).
// HDF5 serialises its own calls internally; no redis wait ever happens under 2–4.
#pragma once

#include "fs/fuse.h"

#include <memory>
#include <shared_mutex>

#include "fs/changes.h"
#include "fs/config.h"
#include "fs/handles.h"
#include "fs/inodes.h"
#include "fs/kernel_cache.h"
#include "fs/open_truncations.h"
#include "fs/pins.h"
#include "fs/view.h"
#include "lock/lock.h"
#include "util/mounts.h"
#include "util/buffer_pool.h"
#include "util/worker_pool.h"

namespace h5swmrfs::fs {

struct Filesystem {
    explicit Filesystem(Config config);
    // Takes the lock and starts serving: pins are cut for writers the lock hears of, and
    // the kernel's caches of `session` emptied after every shared hold given up.
    // `mounted`: the mount's entry in mountinfo (null when it cannot be read).
    void start(std::unique_ptr<lock::Lock> lock, fuse_session* session, const util::MountEntry* mounted);
    // Teardown, once no request runs any more: open files and directories the kernel
    // had not released are dropped (a write staged and never closed is not committed, as
    // if its writer had been killed), then every HDF5 handle, then the lock (releasing
    // whatever it holds).
    ~Filesystem();
    Filesystem(const Filesystem&) = delete;
    Filesystem& operator=(const Filesystem&) = delete;

    Config config;
    std::unique_ptr<lock::Lock> lock;
    InodeTable inodes;

    // The direct read path's workers (started with the mount, after daemonising); null
    // without it. Its read-ahead keeps shares of lock holds: stopped before the lock goes.
    std::unique_ptr<util::WorkerPool> pool;
    std::shared_ptr<util::BufferPool> buffers;  // and the memory of its decoded chunks, used again

    std::shared_mutex view_mutex;
    std::unique_ptr<View> view;  // guarded by view_mutex

    LocalChanges changes;
    Pins pins;
    KernelCache cache;
    dev_t device = 0;         // st_dev of this mount's files (in /proc/PID/maps), once mounted
    long long mount_id = -1;  // its mount id (in /proc/PID/fdinfo)
    Handles handles;  // after `lock` and `view`: open files hold holds and HDF5 handles
    OpenTruncations open_truncations;
};

Filesystem& filesystem_of(fuse_req_t req);

// The operation table, for fuse_session_new.
const fuse_lowlevel_ops& operations();

}  // namespace h5swmrfs::fs
