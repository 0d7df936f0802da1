#include "fs/view.h"

#include "fs/filesystem.h"
#include "lock/lock.h"
#include "util/error.h"
#include "util/log.h"

namespace h5swmrfs::fs {

View::View(const Config& config, std::uint64_t generation_, bool writable, util::WorkerPool* pool,
           std::shared_ptr<util::BufferPool> buffers)
    : generation(generation_), path(config.file), file(h5::File::open(config.file, writable)) {
    if (::stat(config.file.c_str(), &file_stat) != 0) throw Error(errno, config.file + ": cannot stat");
    // Opened again for each generation, like the HDF5 file: whatever replaced FILE.h5 under
    // an exclusive hold is what this generation reads.
    if (pool && buffers && !writable) {
        try {
            direct = std::make_unique<h5::DirectReads>(config.file, *pool, std::move(buffers), config.chunk_cache_bytes);
        } catch (const std::exception& e) {
            log::warning(e.what(), "; this version of the file is read through HDF5 alone");
        }
    }
}

View::~View() {
    // Open files may keep their readers (and so this generation's chunk maps) until their
    // next read; the decoded chunks go now.
    if (direct) direct->retire();
}

ViewAccess::ViewAccess(Filesystem& fs, const lock::Hold& hold) : fs_(fs), hold_(hold) {
    h5::silence_library_errors();
    const std::uint64_t generation = hold.generation();
    if (hold.mode() == lock::Mode::Exclusive) {
        // Nobody else in this process holds the lock now, so nobody else uses the view.
        exclusive_ = std::unique_lock(fs.view_mutex);
        fs.view.reset();
        fs.view = std::make_unique<View>(fs.config, generation, true, nullptr, nullptr);
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
                fs.view = std::make_unique<View>(fs.config, generation, false, fs.pool.get(), fs.buffers);
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

}  // namespace h5swmrfs::fs
