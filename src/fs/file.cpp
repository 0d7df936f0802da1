// Open files: datasets read as their byte form; written bytes staged, then committed.
#include <fcntl.h>

#include <vector>

#include "fs/commit.h"
#include "fs/open_file.h"
#include "fs/ops.h"
#include "fs/stat.h"
#include "h5/dataset_writer.h"

namespace h5swmrfs::fs {

std::unique_ptr<h5::DatasetReader> open_reader(View& view, const Node& node) {
    h5::Id object = h5::open_object(view.file.id(), node.address);
    if (H5Iget_type(object.get()) != H5I_DATASET) return nullptr;
    return std::make_unique<h5::DatasetReader>(std::move(object));
}

namespace ops {
namespace {

// Every read goes to the daemon, under the lock: another mount may change the
// dataset at any time, so the page cache must not answer for it.
void set_open_flags(fuse_file_info* fi, OpenFile* file) {
    fi->fh = reinterpret_cast<uint64_t>(file);
    fi->direct_io = 1;
    fi->keep_cache = 0;
}

std::string spill_directory(const Filesystem& fs) { return fs.config.file.substr(0, fs.config.file.rfind('/')); }

// Prepares `file` for writing: the dataset must be writable and its size known.
void start_writing(Filesystem& fs, View& view, OpenFile& file, int flags) {
    file.writable = true;
    file.append = flags & O_APPEND;
    if (!file.reader) throw Error(EINVAL, file.node.path + ": not a dataset");
    h5::Id object = h5::open_object(view.file.id(), file.node.address);
    h5::DatasetWriter writer(object.get());  // throws for what cannot be written (vlen strings, ...)
    file.staging = std::make_unique<Staging>(writer.size(), flags & O_TRUNC, spill_directory(fs));
}

}  // namespace

void open(fuse_req_t req, fuse_ino_t ino, fuse_file_info* fi) {
    Filesystem& fs = filesystem_of(req);
    const bool writing = (fi->flags & O_ACCMODE) != O_RDONLY;
    if (writing && fs.config.read_only) {
        fuse_reply_err(req, EROFS);
        return;
    }
    std::unique_ptr<lock::Hold> hold = acquire(req, lock::Mode::Shared, "open");
    if (!hold) return;
    auto handle = with_hold(req, *hold, "open", [&](View& view, const lock::Hold&) {
        auto file = std::make_unique<OpenFile>();
        file->node = fs.inodes.get(ino);
        if (file->node.kind == h5::Kind::Group) throw Error(EISDIR, file->node.path + ": is a group");
        file->generation = view.generation;
        file->reader = open_reader(view, file->node);
        if (writing) start_writing(fs, view, *file, fi->flags);
        return file;
    });
    if (!handle) return;
    OpenFile* file = handle->get();
    if (!writing && file->reader) {
        // The reader keeps this hold until it closes (or a writer cuts it): one version throughout.
        file->pinned_reader = true;
        file->pin = std::move(hold);
        file->pinned_at = std::chrono::steady_clock::now();
        fs.pins.add(file);
    }
    set_open_flags(fi, file);
    if (fuse_reply_open(req, fi) == 0) {
        handle->release();
    } else if (file->pinned_reader) {
        fs.pins.remove(file);
    }
}

void create(fuse_req_t req, fuse_ino_t parent, const char* name, mode_t mode, fuse_file_info* fi) {
    Filesystem& fs = filesystem_of(req);
    if (!S_ISREG(mode)) {
        fuse_reply_err(req, EPERM);
        return;
    }
    auto created = under_lock(req, lock::Mode::Exclusive, "create", [&](View& view, const lock::Hold&) {
        Node dir = fs.inodes.get(parent);
        if (dir.kind != h5::Kind::Group) throw Error(ENOTDIR, dir.path + ": not a group");
        h5::Id group = h5::open_object(view.file.id(), dir.path, dir.address);
        // The kernel asks only after its lookup found nothing; another mount may have been quicker.
        if (h5::find_link(group.get(), name)) throw Error(EEXIST, child_path(dir.path, name) + ": exists");
        create_empty_dataset(group.get(), name);
        auto link = h5::find_link(group.get(), name);
        Node node = node_of(*link, dir.address, dir.path);
        auto file = std::make_unique<OpenFile>();
        file->node = node;
        file->generation = view.generation;
        file->writable = true;
        file->append = fi->flags & O_APPEND;
        file->created = true;
        file->staging = std::make_unique<Staging>(0, true, spill_directory(fs));
        fuse_entry_param entry = make_entry(fs, view, node);
        return std::make_pair(entry, std::move(file));
    });
    if (!created) return;
    set_open_flags(fi, created->second.get());
    if (fuse_reply_create(req, &created->first, fi) == 0) created->second.release();
}

void read(fuse_req_t req, fuse_ino_t, size_t size, off_t offset, fuse_file_info* fi) {
    Filesystem& fs = filesystem_of(req);
    OpenFile& file = *open_file(fi);
    std::shared_ptr<lock::Hold> hold;
    if (file.pinned_reader) {
        std::lock_guard guard(file.mutex);
        hold = file.pin;
    }
    const bool repin = file.pinned_reader && !hold;
    if (!hold) {
        hold = acquire(req, lock::Mode::Shared, "read");
        if (!hold) return;
    }
    auto data = with_hold(req, *hold, "read", [&](View& view, const lock::Hold&) {
        std::lock_guard guard(file.mutex);
        if (file.generation != view.generation) {
            // A pinned reader that was cut goes on only if its bytes cannot have changed.
            if (file.pinned_reader && !fs.changes.untouched(file.generation, view.generation, file.node.address))
                throw Error(EIO, file.node.path + ": changed by a writer while open; open it again");
            file.reader = open_reader(view, file.node);
            file.generation = view.generation;
        }
        if (repin) {
            file.pin = hold;
            file.pinned_at = std::chrono::steady_clock::now();
        }
        std::vector<std::byte> buffer;
        if (file.staging && file.staging->dirty()) {
            // What this open wrote shows through its own reads (O_RDWR).
            const std::uint64_t end = file.staging->size();
            const auto at = static_cast<std::uint64_t>(offset);
            if (at >= end) return buffer;
            buffer.assign(std::min<std::uint64_t>(size, end - at), std::byte{0});
            if (!file.staging->replaces() && file.reader) {
                std::uint64_t old = file.reader->size();
                if (at < old)
                    file.reader->read(at, std::span(buffer).first(std::min<std::uint64_t>(buffer.size(), old - at)));
            }
            file.staging->overlay(at, buffer);
            return buffer;
        }
        buffer.resize(file.reader ? size : 0);
        if (file.reader) buffer.resize(file.reader->read(static_cast<std::uint64_t>(offset), buffer));
        return buffer;
    });
    hold.reset();
    if (data) fuse_reply_buf(req, reinterpret_cast<const char*>(data->data()), data->size());
}

void write(fuse_req_t req, fuse_ino_t, const char* data, size_t size, off_t offset, fuse_file_info* fi) {
    OpenFile& file = *open_file(fi);
    try {
        std::lock_guard guard(file.mutex);
        if (!file.staging) throw Error(EBADF, "not open for writing");
        std::uint64_t at = file.append ? file.staging->size() : static_cast<std::uint64_t>(offset);
        file.staging->write(at, std::as_bytes(std::span(data, size)));
        fuse_reply_write(req, size);
    } catch (const std::exception& e) {
        reply_error(req, "write", e);
    }
}

void flush(fuse_req_t req, fuse_ino_t, fuse_file_info* fi) {
    Filesystem& fs = filesystem_of(req);
    OpenFile& file = *open_file(fi);
    if (!file.staging || !file.staging->dirty()) {
        fuse_reply_err(req, 0);
        return;
    }
    auto done = under_lock(req, lock::Mode::Exclusive, "commit", [&](View& view, const lock::Hold& hold) {
        std::lock_guard guard(file.mutex);
        fs.changes.touch(hold.generation(), file.node.address);
        try {
            commit(view, hold, file);
        } catch (...) {
            file.staging->clear();  // a failed commit leaves nothing behind to retry
            throw;
        }
        file.staging->clear();
        return true;
    });
    if (done) fuse_reply_err(req, 0);
}

void fsync(fuse_req_t req, fuse_ino_t ino, int, fuse_file_info* fi) { flush(req, ino, fi); }

void release(fuse_req_t req, fuse_ino_t, fuse_file_info* fi) {
    Filesystem& fs = filesystem_of(req);
    {
        OpenFile* file = open_file(fi);
        if (file->staging && file->staging->dirty())
            log::warning(file->node.path, ": closed with uncommitted bytes (no flush); they are dropped");
        if (file->pinned_reader) {
            fs.pins.remove(file);
            std::shared_ptr<lock::Hold> pin = Pins::take(file);  // let go before the view mutex
        }
        // Closing a read-only handle touches no file data, but must not race a
        // reopen of the view, which invalidates every handle of the old file.
        std::shared_lock guard(fs.view_mutex);
        h5::silence_library_errors();
        delete file;
    }
    fuse_reply_err(req, 0);
}

}  // namespace ops
}  // namespace h5swmrfs::fs
