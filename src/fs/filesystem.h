// The mounted filesystem: the state every operation shares.
//
// Lock order, outermost first:
//   1. the cross-process lock hold (src/lock) — taken first, never while holding 2–4
//      (operations take it through locked(), fs/locked.h);
//   2. Filesystem::view_mutex (shared for operations, exclusive to reopen the file);
//   3. an open file's own mutex;
//   4. the inode table's mutex (leaf).
// HDF5 serialises its own calls internally; no redis wait ever happens under 2–4.
#pragma once

#include "fs/fuse.h"

#include <memory>
#include <optional>
#include <shared_mutex>

#include "fs/changes.h"
#include "fs/config.h"
#include "fs/handles.h"
#include "fs/inodes.h"
#include "fs/pins.h"
#include "fs/reply.h"
#include "fs/space.h"
#include "fs/view.h"
#include "lock/lock.h"
#include "util/error.h"
#include "util/log.h"

namespace h5swmrfs::fs {

struct Filesystem {
    Filesystem(Config config, std::unique_ptr<lock::Lock> lock);

    Config config;
    std::unique_ptr<lock::Lock> lock;
    InodeTable inodes;

    std::shared_mutex view_mutex;
    std::unique_ptr<View> view;  // guarded by view_mutex

    LocalChanges changes;
    Pins pins;
    Handles handles;  // after `lock` and `view`: open files hold holds and HDF5 handles
};

Filesystem& filesystem_of(fuse_req_t req);

template <class Work>
using WorkResult = decltype(std::declval<Work>()(std::declval<View&>(), std::declval<const lock::Hold&>()));

// Runs `work(view, hold)` under `hold`, which the caller already has, on a view of
// the file current for it, and returns what `work` returns; throws what fails.
template <class Work>
auto run_with_hold(Filesystem& fs, const lock::Hold& hold, Work&& work) -> WorkResult<Work> {
    ViewAccess view(fs, hold);
    if (hold.mode() == lock::Mode::Exclusive) {
        fs.changes.record(hold.generation());
        check_space(view->path, 0);
    }
    auto result = work(*view, hold);
    if (hold.mode() == lock::Mode::Exclusive) {
        // Checks the hold before it publishes the change; once published, the change
        // reaches the file (by this writer or the next holder) and succeeded, whatever
        // becomes of the hold after.
        view.finish_change();
    } else {
        hold.check_valid();  // the lease held for the whole read, or its answer cannot be trusted
    }
    return result;
}

// run_with_hold, or nullopt after replying with the errno of whatever it threw.
template <class Work>
auto with_hold(fuse_req_t req, const lock::Hold& hold, const char* op, Work&& work) -> std::optional<WorkResult<Work>> {
    try {
        return run_with_hold(filesystem_of(req), hold, std::forward<Work>(work));
    } catch (const std::exception& e) {
        reply::err(req, reply::report_failure(op, e));
        return std::nullopt;
    }
}

// A hold of `mode` on the lock, once whatever a dead writer left unfinished is
// finished; throws what fails. This and acquire are the one place where operations
// take the lock.
std::unique_ptr<lock::Hold> take_hold(Filesystem& fs, lock::Mode mode);

// take_hold, or nullptr after replying with the error.
std::unique_ptr<lock::Hold> acquire(fuse_req_t req, lock::Mode mode, const char* op);

// Runs `work(view, hold)` under a hold of `mode` on the lock and a current view of
// the file. Returns what `work` returns, or nullopt after replying with the errno
// of whatever it threw. The lock is released before the caller replies.
template <class Work>
auto under_lock(fuse_req_t req, lock::Mode mode, const char* op, Work&& work) -> std::optional<WorkResult<Work>> {
    std::unique_ptr<lock::Hold> hold = acquire(req, mode, op);
    if (!hold) return std::nullopt;
    return with_hold(req, *hold, op, std::forward<Work>(work));
}

// Replies with the errno of an exception thrown outside under_lock.
void reply_error(fuse_req_t req, const char* op, const std::exception& e);

// The operation table, for fuse_session_new.
const fuse_lowlevel_ops& operations();

}  // namespace h5swmrfs::fs
