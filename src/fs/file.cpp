// Open files: datasets read as their byte form.
#include <fcntl.h>

#include <vector>

#include "fs/ops.h"
#include "h5/dataset.h"

namespace h5swmrfs::fs::ops {
namespace {

// One open(2) of a dataset. The reader belongs to the view of `generation`
// and is opened again when a writer has moved the generation on.
struct OpenFile {
    std::mutex mutex;  // lock order: after view_mutex (see filesystem.h)
    Node node;
    std::uint64_t generation = 0;
    std::unique_ptr<h5::DatasetReader> reader;  // null for objects that are not datasets
};

OpenFile* open_file(fuse_file_info* fi) { return reinterpret_cast<OpenFile*>(fi->fh); }

std::unique_ptr<h5::DatasetReader> open_reader(View& view, const Node& node) {
    h5::Id object = h5::open_object(view.file.id(), node.address);
    if (H5Iget_type(object.get()) != H5I_DATASET) return nullptr;
    return std::make_unique<h5::DatasetReader>(std::move(object));
}

}  // namespace

void open(fuse_req_t req, fuse_ino_t ino, fuse_file_info* fi) {
    Filesystem& fs = filesystem_of(req);
    if ((fi->flags & O_ACCMODE) != O_RDONLY || (fi->flags & O_TRUNC)) {
        fuse_reply_err(req, EROFS);
        return;
    }
    auto handle = under_lock(req, lock::Mode::Shared, "open", [&](View& view, const lock::Hold&) {
        auto file = std::make_unique<OpenFile>();
        file->node = fs.inodes.get(ino);
        if (file->node.kind == h5::Kind::Group) throw Error(EISDIR, file->node.path + ": is a group");
        file->generation = view.generation;
        file->reader = open_reader(view, file->node);
        return file;
    });
    if (!handle) return;
    fi->fh = reinterpret_cast<uint64_t>(handle->get());
    // Every read goes to the daemon, under the lock: another mount may change
    // the dataset at any time, so the page cache must not answer for it.
    fi->direct_io = 1;
    fi->keep_cache = 0;
    if (fuse_reply_open(req, fi) == 0) handle->release();
}

void read(fuse_req_t req, fuse_ino_t, size_t size, off_t offset, fuse_file_info* fi) {
    OpenFile& file = *open_file(fi);
    auto data = under_lock(req, lock::Mode::Shared, "read", [&](View& view, const lock::Hold&) {
        std::lock_guard guard(file.mutex);
        if (file.generation != view.generation) {
            file.reader = open_reader(view, file.node);
            file.generation = view.generation;
        }
        std::vector<std::byte> buffer(file.reader ? size : 0);
        if (file.reader) buffer.resize(file.reader->read(static_cast<std::uint64_t>(offset), buffer));
        return buffer;
    });
    if (data) fuse_reply_buf(req, reinterpret_cast<const char*>(data->data()), data->size());
}

void release(fuse_req_t req, fuse_ino_t, fuse_file_info* fi) {
    Filesystem& fs = filesystem_of(req);
    {
        // Closing a read-only handle touches no file data, but must not race a
        // reopen of the view, which invalidates every handle of the old file.
        std::shared_lock guard(fs.view_mutex);
        h5::silence_library_errors();
        delete open_file(fi);
    }
    fuse_reply_err(req, 0);
}

}  // namespace h5swmrfs::fs::ops
