// What the mount knows of the file for one generation of the lock, and the access an
// operation has to it under its hold.
#pragma once

#include "fs/fuse.h"
#include <sys/stat.h>

#include <cstdint>
#include <mutex>
#include <shared_mutex>
#include <string>
#include <unordered_map>

#include "fs/config.h"
#include "h5/file.h"

namespace h5swmrfs::lock {
class Hold;
}

namespace h5swmrfs::fs {

struct Filesystem;

// Replaced whole when the generation moves, so nothing cached outlives a writer.
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

// Access to the current view for the length of one operation, under `hold`.
//
// Under a shared hold: the view of the hold's generation, shared with the
// process's other readers. Under an exclusive hold: a view opened for writing,
// this thread's alone; finish_change() writes everything to the file and closes
// it before the hold ends, so the next reader anywhere opens the file afresh.
class ViewAccess {
public:
    ViewAccess(Filesystem& fs, const lock::Hold& hold);
    ~ViewAccess();
    ViewAccess(const ViewAccess&) = delete;
    ViewAccess& operator=(const ViewAccess&) = delete;
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

}  // namespace h5swmrfs::fs
