#include "fs/filesystem.h"

#include "h5/journal.h"

namespace h5swmrfs::fs {

Filesystem::Filesystem(Config config_, std::unique_ptr<lock::Lock> lock_)
    : config(std::move(config_)), lock(std::move(lock_)), pins(config.pin_grace) {}

std::unique_ptr<lock::Hold> take_hold(Filesystem& fs, lock::Mode mode) {
    if (mode == lock::Mode::Exclusive) {
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
    return lock::acquire_repaired(*fs.lock, mode, unfinished_commit);
}

std::unique_ptr<lock::Hold> acquire(fuse_req_t req, lock::Mode mode, const char* op) {
    try {
        return take_hold(filesystem_of(req), mode);
    } catch (const std::exception& e) {
        reply::err(req, reply::report_failure(op, e));
        return nullptr;
    }
}

Filesystem& filesystem_of(fuse_req_t req) { return *static_cast<Filesystem*>(fuse_req_userdata(req)); }

void reply_error(fuse_req_t req, const char* op, const std::exception& e) {
    reply::err(req, reply::report_failure(op, e));
}

}  // namespace h5swmrfs::fs
