// One open(2) of a dataset (or another non-directory object).
#pragma once

#include <limits>
#include <memory>
#include <mutex>
#include <set>

#include "fs/filesystem.h"
#include "fs/staging.h"
#include "h5/dataset.h"

namespace h5swmrfs::fs {

struct OpenFile : Handle {
    static constexpr Kind kKind = Kind::File;
    OpenFile() : Handle(kKind) {}

    std::mutex mutex;  // lock order: after view_mutex (see filesystem.h)
    fuse_ino_t ino = 0;
    Node node;

    // Reading: the reader belongs to the view of `generation` and is opened
    // again when a writer has moved the generation on. A read uses a copy with
    // the mutex let go (the last copy goes within the view).
    std::uint64_t generation = 0;
    std::shared_ptr<h5::DatasetReader> reader;  // null for objects that are not datasets

    // A read-only open of a dataset keeps the shared hold it was opened under (pins.h);
    // null once cut. Reads copy it, so a cut never pulls it from under a read.
    bool pinned_reader = false;
    std::shared_ptr<lock::Hold> pin;
    std::chrono::steady_clock::time_point pinned_at;
    pid_t opener = 0;  // the process that opened it
    // Opened past the page cache because a reader of an older version was open (file.cpp):
    // a private mapping of it still faults through the page cache.
    bool beside_older = false;

    // Writing (O_WRONLY / O_RDWR): what this open has written and not yet committed.
    bool writable = false;
    bool append = false;   // O_APPEND: every write lands at the end
    bool created = false;  // this open made the dataset: .npy content may type it
    // h5::dataset_identity when this open last saw its dataset: an object found at its
    // address under another name is taken for it (moved by another mount) only if this
    // is unchanged, not for a new object at the address of a deleted one.
    std::string identity;
    std::set<pid_t> writers;  // processes that wrote through it: their close() commits
    pid_t last_thread = 0, last_writer = 0;  // the last write's thread and its process
    std::uint64_t space = 0;  // free bytes on the file's disk at open (see free_space)
    // The largest size the dataset can take, as of the open (h5::DatasetWriter::max_size):
    // a write past it fails at once with EFBIG, not at a close a shell ignores.
    std::uint64_t max_size = std::numeric_limits<std::uint64_t>::max();
    bool fixed_size = false;  // the dataset cannot grow or shrink
    std::unique_ptr<Staging> staging;
};

inline OpenFile* open_file(fuse_file_info* fi) { return Handles::get<OpenFile>(fi->fh); }

// The process (thread group) a request comes from; 0 when it is gone.
pid_t process_of(fuse_req_t req);

// The open file behind `fi`, or null (no fi, or a directory's handle).
inline OpenFile* open_file_of(fuse_file_info* fi) { return fi ? Handles::get<OpenFile>(fi->fh) : nullptr; }

// Opens the reader of `node` in `view`; null for an object that is not a dataset.
std::unique_ptr<h5::DatasetReader> open_reader(View& view, const Node& node);

}  // namespace h5swmrfs::fs
