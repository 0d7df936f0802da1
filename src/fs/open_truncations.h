// open(O_TRUNC) of an existing dataset, as the kernel sends it to this mount: an open for
// writing, then, from the same thread and within the same open(2), a truncation to size 0
// that names no open file. This table pairs the two, so that the truncation becomes part
// of that open (committed at its close, as if O_TRUNC had come with the open), not a
// change committed at once (which would show readers an empty dataset before cp writes).
//
// (The kernel can send O_TRUNC with the open instead, atomic_o_trunc; but then it sets the
// inode's size to 0 and drops its pages itself, for every open of it on this mount:
// readers of the committed content read a short file and mappings fault with SIGBUS until
// the close. operations.cpp does not ask for it.)
#pragma once

#include <sys/types.h>

#include <map>
#include <mutex>
#include <utility>

#include "fs/fuse.h"

namespace h5swmrfs::fs {

struct OpenFile;

class OpenTruncations {
public:
    // `file` was just opened for writing by `thread`.
    void opened(fuse_ino_t ino, pid_t thread, OpenFile* file) {
        std::lock_guard guard(mutex_);
        opens_[{ino, thread}] = file;
    }

    // `file` is closed (flush) or released: a truncation after that is not its O_TRUNC.
    // Called before the file is freed.
    void closed(OpenFile* file) {
        std::lock_guard guard(mutex_);
        std::erase_if(opens_, [&](const auto& entry) { return entry.second == file; });
    }

    // The open of `ino` that `thread` made last, if still open, handed to `apply` under the
    // table's mutex (so its release waits); what `apply` returns, false when there is none.
    template <class Apply>
    bool apply(fuse_ino_t ino, pid_t thread, Apply&& apply) {
        std::lock_guard guard(mutex_);
        auto it = opens_.find({ino, thread});
        if (it == opens_.end()) return false;
        OpenFile* file = it->second;
        opens_.erase(it);
        return apply(*file);
    }

private:
    std::mutex mutex_;  // lock order: before an open file's mutex
    std::map<std::pair<fuse_ino_t, pid_t>, OpenFile*> opens_;
};

}  // namespace h5swmrfs::fs
