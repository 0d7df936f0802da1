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
#include "h5/direct_read.h"
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
    // `pool`: the direct read path's workers, `buffers` its decoded chunks' memory; null
    // without it. A writable view never reads past HDF5 (its changes are in the journal,
    // not the file).
    View(const Config& config, std::uint64_t generation, bool writable, util::WorkerPool* pool,
         std::shared_ptr<util::BufferPool> buffers);
    ~View();
    View(const View&) = delete;
    View& operator=(const View&) = delete;

    std::uint64_t generation;
    std::string path;  // FILE.h5
    h5::File file;
    struct stat file_stat {};  // FILE.h5 itself: times for objects that track none
    // The direct read path of this generation (its own descriptor of the file, its decoded
    // chunks); null for a writable view or without it.
    std::unique_ptr<h5::DirectReads> direct;

    std::mutex stat_mutex;
    std::unordered_map<fuse_ino_t, struct stat> stats;  // getattr results of this generation

    // What `compute` answers for `key` in this generation, computed once: answers that
    // cost HDF5 work and that every `getfattr -d`, `ls -l` or `cp -a` asks again (the
    // names and values of extended attributes). What compute throws is not kept.
    template <class Compute>
    std::string answer(const std::string& key, Compute&& compute) {
        {
            std::lock_guard guard(answer_mutex);
            if (auto it = answers.find(key); it != answers.end()) return it->second;
        }
        std::string value = compute();
        std::lock_guard guard(answer_mutex);
        return answers.emplace(key, std::move(value)).first->second;
    }

    // Keeps `value` as the answer for `key` (found while computing another answer).
    void remember(const std::string& key, std::string value) {
        std::lock_guard guard(answer_mutex);
        answers.emplace(key, std::move(value));
    }

private:
    std::mutex answer_mutex;
    std::unordered_map<std::string, std::string> answers;
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
