// One open(2) of a dataset (or another non-directory object).
#pragma once

#include <memory>
#include <mutex>

#include "fs/filesystem.h"
#include "fs/staging.h"
#include "h5/dataset.h"

namespace h5swmrfs::fs {

struct OpenFile {
    std::mutex mutex;  // lock order: after view_mutex (see filesystem.h)
    Node node;

    // Reading: the reader belongs to the view of `generation` and is opened
    // again when a writer has moved the generation on.
    std::uint64_t generation = 0;
    std::unique_ptr<h5::DatasetReader> reader;  // null for objects that are not datasets

    // A read-only open of a dataset keeps the shared hold it was opened under (pins.h);
    // null once cut. Reads copy it, so a cut never pulls it from under a read.
    bool pinned_reader = false;
    std::shared_ptr<lock::Hold> pin;
    std::chrono::steady_clock::time_point pinned_at;

    // Writing (O_WRONLY / O_RDWR): what this open has written and not yet committed.
    bool writable = false;
    bool append = false;   // O_APPEND: every write lands at the end
    bool created = false;  // this open made the dataset: .npy content may type it
    std::unique_ptr<Staging> staging;
};

inline OpenFile* open_file(fuse_file_info* fi) { return reinterpret_cast<OpenFile*>(fi->fh); }

// Opens the reader of `node` in `view`; null for an object that is not a dataset.
std::unique_ptr<h5::DatasetReader> open_reader(View& view, const Node& node);

}  // namespace h5swmrfs::fs
