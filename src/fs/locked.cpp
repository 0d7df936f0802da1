#include "fs/locked.h"

#include "fs/open_file.h"
#include "fs/space.h"
#include "h5/journal.h"
#include "lock/counts.h"
#include "util/error.h"

#include <chrono>

namespace h5swmrfs::fs::detail {
namespace {

// The pin `access` may use, or null.
std::shared_ptr<lock::Hold> pin(Filesystem& fs, const Access& access) {
    if (access.file && access.file->pinned_reader) {
        std::lock_guard guard(access.file->mutex);
        if (access.file->pin) return access.file->pin;
    }
    return fs.pins.borrow(access.ino);
}

std::shared_ptr<lock::Hold> take(Filesystem& fs, const Access& access) {
    if (access.pinned)
        if (auto held = pin(fs, access)) return held;
    if (access.mode == lock::Mode::Exclusive) {
        if (fs.config.read_only) throw Error(EROFS, "read-only mount");
        // Readers of this mount step aside at once: whether what they read
        // changed is known here (LocalChanges), and they fail rather than mix.
        fs.pins.cut_all();
    }
    // A writer that died halfway through publishing a commit left it to be
    // finished by whoever comes next (h5/journal.h).
    const lock::Repair unfinished_commit{
        [&] { return h5::recovery_pending(fs.config.file); },
        [&] { h5::recover(fs.config.file); },
    };
    struct Waiting {
        lock::Mode mode;
        std::chrono::steady_clock::time_point since = std::chrono::steady_clock::now();
        ~Waiting() { lock::counts::waited(mode, std::chrono::steady_clock::now() - since); }
    } waiting{access.mode};  // granted or not
    return lock::acquire_repaired(*fs.lock, access.mode, unfinished_commit);
}

std::shared_ptr<lock::Hold> handed(std::shared_ptr<lock::Hold> hold, const Access& access) {
    if (access.out) *access.out = hold;
    return hold;
}

}  // namespace

DropsAfterChange::~DropsAfterChange() {
    if (generation != 0) fs_.lock->wait_for_drops(generation, others_only_);
}

Locked::Locked(Filesystem& fs, const Access& access) : hold_(handed(take(fs, access), access)), view_(fs, *hold_) {
    if (hold_->mode() != lock::Mode::Exclusive) {
        fs.cache.join_shared();  // what this request answers may be cached, until a drop
        return;
    }
    KernelCache::join_exclusive();
    fs.changes.record(hold_->generation());
    check_space(view_->path, 0);
}

void Locked::finish(DropsAfterChange& drops) {
    if (hold_->mode() == lock::Mode::Exclusive) {
        // Checks the hold before it publishes the change; once published, the change
        // reaches the file (by this writer or the next holder) and succeeded, whatever
        // becomes of the hold after.
        view_.finish_change();
        drops.generation = hold_->generation();
    } else
        hold_->check_valid();  // the lease held for the whole read, or its answer cannot be trusted
}

}  // namespace h5swmrfs::fs::detail
