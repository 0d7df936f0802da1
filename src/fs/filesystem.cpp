#include "fs/filesystem.h"

#include <sys/statvfs.h>

#include "h5/journal.h"

namespace h5swmrfs::fs {

View::View(const Config& config, std::uint64_t generation_, bool writable)
    : generation(generation_), path(config.file), file(h5::File::open(config.file, writable)) {
    if (::stat(config.file.c_str(), &file_stat) != 0) throw Error(errno, config.file + ": cannot stat");
}

Filesystem::Filesystem(Config config_, std::unique_ptr<lock::Lock> lock_)
    : config(std::move(config_)), lock(std::move(lock_)), pins(config.pin_grace) {}

void check_space(const std::string& file, std::uint64_t needed) {
    constexpr std::uint64_t kSlack = 1 << 20;  // HDF5 metadata that comes with any change
    struct statvfs st {};
    const std::string directory = file.substr(0, file.rfind('/') + 1);
    if (::statvfs(directory.c_str(), &st) != 0) return;
    const std::uint64_t available = static_cast<std::uint64_t>(st.f_bavail) * st.f_frsize;
    if (needed + kSlack > available)
        throw Error(ENOSPC, "the change needs about " + std::to_string(needed + kSlack) + " bytes, the disk has " +
                                std::to_string(available));
}

int report_failure(const char* op, const std::exception& e, bool commit) noexcept {
    const int err = errno_of(e);
    // What a user asked for and cannot have is their error, not the mount's.
    switch (err) {
        case ENOENT: case ENODATA: case ERANGE: case EROFS: case EEXIST:
        case ESTALE:  // another mount moved or replaced the object: the kernel looks it up again
            if (commit)
                log::warning(op, ": ", e.what());
            else
                log::debug(op, ": ", e.what());
            break;
        case EINVAL: case ENOTEMPTY: case EISDIR: case ENOTDIR: case EFBIG: case EPERM:
        case EOPNOTSUPP: case ENOSPC: case EBUSY:
            log::warning(op, ": ", e.what());
            break;
        default:
            log::error(op, ": ", e.what());
    }
    return err;
}

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
        reply::err(req, report_failure(op, e));
        return nullptr;
    }
}

Filesystem& filesystem_of(fuse_req_t req) { return *static_cast<Filesystem*>(fuse_req_userdata(req)); }

ViewAccess::ViewAccess(Filesystem& fs, const lock::Hold& hold) : fs_(fs), hold_(hold) {
    h5::silence_library_errors();
    const std::uint64_t generation = hold.generation();
    if (hold.mode() == lock::Mode::Exclusive) {
        // Nobody else in this process holds the lock now, so nobody else uses the view.
        exclusive_ = std::unique_lock(fs.view_mutex);
        fs.view.reset();
        fs.view = std::make_unique<View>(fs.config, generation, true);
        fs.inodes.set_root(fs.view->file.root_address());
        view_ = fs.view.get();
        return;
    }
    for (;;) {
        shared_ = std::shared_lock(fs.view_mutex);
        if (fs.view && fs.view->generation == generation) break;
        shared_.unlock();
        {
            // The generation moved (or this is the first operation): every handle
            // and cached answer belongs to an older file and is dropped before the
            // file is opened again. Our hold keeps the generation from moving on.
            std::unique_lock exclusive(fs.view_mutex);
            if (!fs.view || fs.view->generation != generation) {
                if (fs.view) log::debug("generation ", fs.view->generation, " -> ", generation, ": reopening");
                fs.view.reset();
                fs.view = std::make_unique<View>(fs.config, generation, false);
                fs.inodes.set_root(fs.view->file.root_address());
            }
        }
    }
    view_ = fs.view.get();
}

namespace {
bool still_ours(const lock::Hold& hold) {
    try {
        hold.check_valid();
        return true;
    } catch (const std::exception&) {
        return false;
    }
}
}  // namespace

ViewAccess::~ViewAccess() {
    // A change that did not finish (it threw) leaves the file as it was: its
    // writable open is dropped uncommitted, and no reader may keep using this view.
    // If the hold was lost, another writer may own the file by now: not even what was
    // appended past the file's end is touched again.
    if (!exclusive_.owns_lock() || !fs_.view) return;
    if (!still_ours(hold_)) {
        log::error("the lock was lost during a change; its unwritten part is dropped");
        fs_.view->file.fence();
    }
    fs_.view.reset();
}

void ViewAccess::finish_change() {
    hold_.check_valid();  // (on failure the destructor fences the file)
    view_->file.commit([this] { hold_.check_valid(); });
    fs_.view.reset();
    view_ = nullptr;
}

void reply_error(fuse_req_t req, const char* op, const std::exception& e) {
    reply::err(req, report_failure(op, e));
}

}  // namespace h5swmrfs::fs
