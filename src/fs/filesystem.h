// The mounted filesystem: its state and the one place every operation passes through.
//
// Lock order, outermost first:
//   1. the cross-process lock hold (src/lock) — taken first, never while holding 2–4;
//   2. Filesystem::view_mutex (shared for operations, exclusive to reopen the file);
//   3. an open file's own mutex;
//   4. the inode table's mutex (leaf).
// HDF5 serialises its own calls internally; no redis wait ever happens under 2–4.
#pragma once

#include "fs/fuse.h"
#include <sys/stat.h>

#include <chrono>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <shared_mutex>
#include <string>
#include <unordered_map>

#include "fs/changes.h"
#include "fs/handles.h"
#include "fs/inodes.h"
#include "fs/pins.h"
#include "fs/reply.h"
#include "h5/file.h"
#include "lock/lock.h"
#include "util/error.h"
#include "util/log.h"

namespace h5swmrfs::fs {

struct Config {
    std::string file;        // canonical absolute path of FILE.h5
    std::string mountpoint;  // canonical absolute path of the mount point
    bool read_only = false;  // -o ro
    // How long a reader's open file keeps another process's writer waiting (pins.h).
    std::chrono::milliseconds pin_grace{15000};
};

// What the mount knows of the file for one generation of the lock. Replaced
// whole when the generation moves, so nothing cached outlives a writer.
//
// The file is open read-only except inside an exclusive hold: a file that HDF5
// holds open for writing (superblock v3 marks it so) cannot be opened by anyone
// else, and idle mounts must never stand in the way of another writer.
struct View {
    View(const Config& config, std::uint64_t generation, bool writable);

    std::uint64_t generation;
    std::string path;  // FILE.h5
    h5::File file;
    struct stat file_stat {};  // FILE.h5 itself: times for objects that track none

    std::mutex stat_mutex;
    std::unordered_map<fuse_ino_t, struct stat> stats;  // getattr results of this generation
};

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

// Access to the current view for the length of one operation.
//
// Under a shared hold: the view of the hold's generation, shared with the
// process's other readers. Under an exclusive hold: a view opened for writing,
// this thread's alone; finish_change() writes everything to the file and closes
// it before the hold ends, so the next reader anywhere opens the file afresh.
class ViewAccess {
public:
    ViewAccess(Filesystem& fs, const lock::Hold& hold);
    ~ViewAccess();
    View& operator*() const { return *view_; }
    View* operator->() const { return view_; }
    void finish_change();

private:
    Filesystem& fs_;
    const lock::Hold& hold_;
    std::shared_lock<std::shared_mutex> shared_;
    std::unique_lock<std::shared_mutex> exclusive_;
    View* view_ = nullptr;
};

// ENOSPC unless the disk holding `file` has `needed` bytes free, and a margin for
// HDF5's own metadata. Every change checks it before it begins: HDF5 cannot be
// trusted to leave a file whole when a write fails halfway for want of space.
void check_space(const std::string& file, std::uint64_t needed);

// Logs a failed operation at the level it deserves and gives the errno to reply with.
// A failed commit (`commit`) is logged at warning level at least, whatever its errno:
// bytes a program wrote did not land, and the log is where a user looks for why.
int report_failure(const char* op, const std::exception& e, bool commit = false) noexcept;

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
        reply::err(req, report_failure(op, e));
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
