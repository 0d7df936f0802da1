// Open files: datasets read as their byte form; written bytes staged, then committed.
#include <fcntl.h>

#include <algorithm>
#include <cstdlib>
#include <limits>
#include <set>
#include <vector>

#include "fs/activity.h"
#include "fs/commit.h"
#include "fs/holders.h"
#include "fs/open_file.h"
#include "fs/ops.h"
#include "fs/space.h"
#include "fs/stat.h"
#include "h5/dataset_writer.h"
#include "h5/direct_read.h"
#include "util/bytes.h"
#include "util/error.h"
#include "util/file_io.h"
#include "util/log.h"
#include "util/proc.h"

namespace h5swmrfs::fs {

pid_t process_of(fuse_req_t req) { return util::process_of_thread(fuse_req_ctx(req)->pid); }

std::unique_ptr<h5::DatasetReader> open_reader(View& view, const Node& node) {
    h5::Id object = open_node(view, node);
    if (!h5::is_dataset(object.get())) return nullptr;
    auto reader = std::make_unique<h5::DatasetReader>(std::move(object));
    if (view.direct) reader->use_direct(*view.direct, node.address, node.path);
    return reader;
}

namespace ops {
namespace {

// Whether the bytes `file` (its mutex held) shows may differ between generations `from`
// and `to`: unless this mount's own writers left its dataset untouched in between
// (changes.h); a change from elsewhere may have touched anything, and any change the
// datasets a virtual one is made of.
bool may_differ(const Filesystem& fs, const OpenFile& file, std::uint64_t from, std::uint64_t to) {
    return (file.reader && file.reader->indirect()) || !fs.changes.untouched(from, to, file.node.address);
}

// Whether a reader of inode `ino` (at `address`) that sees another version of it than
// generation `generation` has it open on this mount, other than `except`: one opened in an
// older generation whose bytes may differ (may_differ).
bool older_reader_open(Filesystem& fs, std::uint64_t ino, haddr_t address, std::uint64_t generation,
                       const OpenFile* except = nullptr) {
    return fs.pins.older_open(ino, generation, [&](const OpenFile& older) {
        return may_differ(fs, older, older.generation, generation) ||
               !fs.changes.untouched(older.generation, generation, address);
    }, except);
}

// A reader's open uses the page cache when the mount caches (kernel_cache.h), and keeps
// the pages the kernel has only when all are of its hold's generation. A writer's open
// never does: its own reads show what it staged, which no one else may see, and a shared
// writable mapping of it is refused (ENODEV) rather than left uncommitted.
void set_open_flags(Filesystem& fs, fuse_file_info* fi, std::unique_ptr<OpenFile> file) {
    // While a reader of an older version has the dataset open (its pin cut), newer opens
    // read past the page cache: pages they filled would reach the older reader, which must
    // get its version or EIO, never a mix.
    const bool reader = fs.cache.enabled() && !file->writable;
    const bool beside_older = reader && older_reader_open(fs, file->ino, file->node.address, file->generation);
    const bool cached = reader && !beside_older;
    file->beside_older = beside_older;
    // (Also has the kernel forget attributes that may be older than this open's version.)
    const bool keep = reader && fs.cache.opened(file->ino, file->generation);
    fi->keep_cache = cached && keep;
    fi->direct_io = !cached;
    fi->fh = fs.handles.keep(std::move(file));
}

std::string spill_directory(const Filesystem& fs) { return util::directory_of(fs.config.file); }

// Free bytes on the disk that holds the file. More than that written through one open
// fails at once with ENOSPC; a write that would make the dataset larger than its size
// plus that fails with EFBIG (`dd seek=1T` into a small dataset is a mistake, not a
// 1 TB sparse dataset).
std::uint64_t free_space(const Filesystem& fs) { return free_bytes(fs.config.file); }

// Prepares `file` for writing: the dataset must be writable and its size known.
void start_writing(Filesystem& fs, View& view, OpenFile& file, int flags) {
    file.writable = true;
    file.append = flags & O_APPEND;
    if (!file.reader) throw Error(EINVAL, file.node.path + ": not a dataset");
    h5::Id object = open_node(view, file.node);
    file.identity = h5::dataset_identity(object.get());
    h5::DatasetWriter writer(object.get());  // throws for what cannot be written (vlen strings, ...)
    file.staging = std::make_unique<Staging>(writer.size(), flags & O_TRUNC, spill_directory(fs));
    file.space = free_space(fs);
    file.max_size = writer.max_size();
    file.fixed_size = !writer.resizable();
}

// Where the object of `file` is now, as far as this mount knows: a rename through this
// mount moves the names in the inode table, not in the open files' copies.
void refresh_path(Filesystem& fs, OpenFile& file) {
    try {
        Node known = fs.inodes.get(file.ino);
        if (known.address != file.node.address) return;  // the open file's object was rebuilt since
        if (known.seen < file.node.seen) return;  // the open file found it somewhere newer (follow_node)
        file.node.path = known.path;
        file.node.directory = known.directory;
        file.node.seen = std::max(file.node.seen, known.seen);
    } catch (const Error&) {
        // the kernel forgot the inode: keep what the open file knew
    }
}

}  // namespace

void open(fuse_req_t req, fuse_ino_t ino, fuse_file_info* fi) {
    Filesystem& fs = filesystem_of(req);
    const bool writing = (fi->flags & O_ACCMODE) != O_RDONLY;
    if (writing && fs.config.read_only) throw Error(EROFS, "read-only mount");
    std::shared_ptr<lock::Hold> hold;
    const std::uint64_t cuts = fs.pins.cuts();
    auto opened = locked(fs, Access::shared().handing_to(hold), [&](View& view, const lock::Hold&) {
        auto file = std::make_unique<OpenFile>();
        file->ino = ino;
        file->opener = process_of(req);
        file->node = fs.inodes.get(ino);
        if (file->node.kind == h5::Kind::Group) throw Error(EISDIR, file->node.path + ": is a group");
        file->generation = view.generation;
        file->reader = open_reader(view, file->node);
        // Size 0, and no bytes: an open that read nothing would let `cp` copy it empty.
        if (file->reader && !writing) file->reader->require_byte_form();
        file->node.seen = view.generation;  // found at its path and address just now
        if (writing) start_writing(fs, view, *file, fi->flags);
        return file;
    });
    OpenFile* file = opened.get();
    set_open_flags(fs, fi, std::move(opened));
    if (writing) fs.open_truncations.opened(ino, fuse_req_ctx(req)->pid, file);
    if (!writing && file->reader) {
        // The reader keeps this hold until it closes (or a writer cuts it): one version throughout.
        file->pinned_reader = true;
        file->pin = std::move(hold);
        file->pinned_at = std::chrono::steady_clock::now();
        reply::fault_point("open-pin");
        std::shared_ptr<lock::Hold> cut = fs.pins.add(file, cuts);  // a writer of this mount came meanwhile
    }
    hold.reset();
    if (reply::open(req, fi) != 0) {  // the opener is gone (interrupted)
        std::shared_ptr<lock::Hold> pin;
        if (file->pinned_reader) {
            fs.pins.remove(file);
            pin = Pins::take(file);  // let go before the view mutex
        }
        fs.open_truncations.closed(file);
        std::shared_lock guard(fs.view_mutex);
        fs.handles.drop(fi->fh);
    }
}

void create(fuse_req_t req, fuse_ino_t parent, const char* name, mode_t mode, fuse_file_info* fi) {
    check_new_name(name);
    Filesystem& fs = filesystem_of(req);
    if (!S_ISREG(mode)) throw Error(EPERM, std::string(name) + ": only regular files can be created");
    auto created = locked(fs, Access::exclusive_names(), [&](View& view, const lock::Hold&) {
        Node node = create_dataset_node(fs, view, parent, name);
        auto file = std::make_unique<OpenFile>();
        file->node = node;
        file->identity = h5::dataset_identity(h5::open_object(view.file.id(), node.address).get());
        file->node.seen = view.generation;
        file->generation = view.generation;
        file->writable = true;
        file->append = fi->flags & O_APPEND;
        file->created = true;
        file->staging = std::make_unique<Staging>(0, true, spill_directory(fs));
        file->space = free_space(fs);
        fuse_entry_param entry = make_entry(fs, view, node);
        file->ino = entry.ino;
        return std::make_pair(entry, std::move(file));
    });
    set_open_flags(fs, fi, std::move(created.second));
    if (reply::create(req, &created.first, fi) != 0) {
        std::shared_lock guard(fs.view_mutex);
        fs.handles.drop(fi->fh);
    }
}

void read(fuse_req_t req, fuse_ino_t, size_t size, off_t offset, fuse_file_info* fi) {
    Filesystem& fs = filesystem_of(req);
    OpenFile& file = *open_file(fi);
    bool repin;
    const std::uint64_t cuts = fs.pins.cuts();
    {
        std::lock_guard guard(file.mutex);
        repin = file.pinned_reader && !file.pin;
    }
    std::shared_ptr<lock::Hold> hold;
    bool staged = false;
    std::uint64_t generation = 0;
    std::optional<h5::StoredRange> stored;     // the answer, as it lies in the file
    std::optional<h5::DecodedRange> decoded;  // the answer, in decoded chunks
    auto data = locked(fs, Access::pin_of(file.ino, &file).handing_to(hold), [&](View& view, const lock::Hold&) {
        if (repin) reply::fault_point("read-repin");
        // A pinned reader that was cut goes on only if its bytes cannot have changed, or if
        // its process maps the dataset: a mapping follows the file (the page cache was
        // emptied for the change, and a fault has no way to fail but SIGBUS) — unless
        // another reader of an older version has it open: the pages it would fill, of the
        // new version, would reach that reader too (the page cache is the dataset's, not
        // the open's), which must get its version or EIO. So must a private mapping of an
        // open made past the page cache for such a reader. Found out before this file's
        // mutex is taken: older_open takes those of the other opens.
        bool changed, beside_older;
        std::uint64_t opened_in;
        haddr_t address;
        {
            std::lock_guard guard(file.mutex);
            changed = file.generation != view.generation && file.pinned_reader &&
                      may_differ(fs, file, file.generation, view.generation);
            beside_older = file.beside_older;
            opened_in = file.generation;
            address = file.node.address;
        }
        const bool mapped = (changed || beside_older) && fs.cache.enabled() &&
                            util::has_mapped(process_of(req), fs.device, file.ino);
        if (mapped && beside_older && older_reader_open(fs, file.ino, address, opened_in, &file)) {
            std::lock_guard guard(file.mutex);
            throw Error(EIO, file.node.path + ": mapped while a reader of an older version has it open");
        }
        const bool follows = mapped && !older_reader_open(fs, file.ino, address, view.generation, &file);
        std::unique_lock guard(file.mutex);
        if (file.generation != view.generation) {
            if (file.pinned_reader && may_differ(fs, file, file.generation, view.generation) &&
                !follows)
                throw Error(EIO, file.node.path + ": changed by a writer while open; open it again");
            refresh_path(fs, file);
            file.reader = open_reader(view, file.node);
            file.generation = view.generation;
        }
        if (repin && fs.pins.cuts() == cuts) {  // else a writer of this mount meant to cut this hold too
            file.pin = hold;
            file.pinned_at = std::chrono::steady_clock::now();
        }
        util::Bytes buffer;
        generation = view.generation;
        if (file.staging && file.staging->dirty()) {
            staged = true;
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
        const std::shared_ptr<h5::DatasetReader> reader = file.reader;
        if (!reader) return buffer;
        // Read with the open's mutex let go: the requests of one open (the kernel sends its
        // read-ahead's at once) decode together past HDF5, and an open of the dataset (whose
        // older_open takes this mutex under the pins' own) never waits for a read, however
        // long its H5Dread. The view's lock stays held for HDF5 and the lookups of chunks,
        // and the hold keeps the file as it is.
        guard.unlock();
        if (reader->direct()) {
            if ((stored = reader->stored(static_cast<std::uint64_t>(offset), size))) return buffer;
            if ((decoded = reader->decoded(static_cast<std::uint64_t>(offset), size, hold))) return buffer;
            buffer.resize(size);  // not zeroed: the direct path writes every byte it returns
        } else {
            // H5Dread leaves what it has no bytes for (storage never written, fill time never) as it was.
            buffer.assign(size, std::byte{0});
            reply::fault_point("read-hdf5");  // tests: a long H5Dread
        }
        buffer.resize(reader->read(static_cast<std::uint64_t>(offset), buffer, hold));
        return buffer;
    });
    if (staged)
        fs.cache.tainted(file.ino);
    else
        fs.cache.pages(file.ino, generation);
    // The hold outlives the answer: bytes read under it land in the page cache before any
    // writer can change them (and an open after that change empties what is there).
    int sent = 0;
    std::size_t length = 0;
    if (stored) {
        length = stored->length;
        // The splice reads the bytes as it answers, after the work's own check of the lease:
        // checked again just before, and after (a daemon frozen in between, past its lease,
        // may have answered with bytes a writer elsewhere was changing: they are not kept).
        hold->check_valid();
        sent = reply::data(req, stored->source->fd.get(), stored->offset, length);
        try {
            hold->check_valid();
        } catch (const std::exception& e) {
            std::lock_guard guard(file.mutex);  // other reads of this open may refresh its path
            log::warning(file.node.path, ": answered from the file as its lease ended (", e.what(),
                         "): the page cache forgets it");
            fs.cache.tainted(file.ino);
        }
    } else if (decoded) {
        length = decoded->size();
        sent = reply::parts(req, decoded->parts);
    } else {
        length = data.size();
        sent = reply::buf(req, reinterpret_cast<const char*>(data.data()), length);
    }
    hold.reset();
    if (sent == 0) activity::read(length);  // else the reader was interrupted, or the mount is going
}

void write(fuse_req_t req, fuse_ino_t, const char* data, size_t size, off_t offset, fuse_file_info* fi) {
    OpenFile& file = *open_file(fi);
    std::lock_guard guard(file.mutex);
    try {
        if (!file.staging) throw Error(EBADF, "not open for writing");
        std::uint64_t at = file.append ? file.staging->size() : static_cast<std::uint64_t>(offset);
        if (file.staging->written_bytes() + size > file.space)
            throw Error(ENOSPC, file.node.path + ": more bytes than the disk holding the file has free");
        if (at + size > file.staging->base_size() + file.space || at + size < at)
            throw Error(EFBIG, file.node.path + ": a write to byte " + std::to_string(at + size) +
                                   " is past what the disk could hold");
        // Appends to a resizable dataset land at its end as it is at commit time (another
        // mount may have shrunk it since the open): what counts is how much this open appends.
        const bool grows_later = file.append && !file.fixed_size;
        const std::uint64_t end = grows_later ? at + size - file.staging->base_size() : at + size;
        if (end > file.max_size) {
            // The close then reports what a commit of this content would: content of
            // another length than a fixed size is EINVAL (SPEC §5), rows past the
            // maximum of a resizable dataset EFBIG.
            file.staging->fail(file.fixed_size ? EINVAL : EFBIG);
            throw Error(EFBIG, file.node.path + ": a write to byte " + std::to_string(at + size) +
                                   " is past the end of a dataset that cannot grow beyond " +
                                   std::to_string(file.max_size) + " bytes");
        }
        const pid_t thread = fuse_req_ctx(req)->pid;
        if (thread != file.last_thread) {
            file.last_thread = thread;
            file.last_writer = process_of(req);
        }
        file.writers.insert(file.last_writer);
        file.staging->write(at, std::as_bytes(std::span(data, size)));
        reply::write(req, size);
    } catch (const std::exception& e) {
        // The close then fails too: a program that ignores a failed write(2) learns it there.
        if (file.staging && !file.staging->failed()) file.staging->fail(errno_of(e));
        throw;
    }
}

namespace {

// What a failed commit leaves staged.
enum class Keep {
    Nothing,     // the release (no descriptor left): nothing can complete it any more
    Incomplete,  // a close: bytes that cannot be committed as they stand (EINVAL: a partial
                 // row, too few bytes) stay for a later close, or the release, to complete
    All,         // fsync: the file stays open, and its close commits or reports
};

// Commits what `file` staged, under an exclusive hold; replies with the error and returns
// false when it fails. Success clears what was staged; a failure changed nothing in the
// file (commits are all or nothing) and keeps what `keep` says. (The reply comes last:
// once a close has its answer, the release may free `file`.)
bool commit_staged(fuse_req_t req, OpenFile& file, const char* op, Keep keep) {
    Filesystem& fs = filesystem_of(req);
    int err = 0;
    std::uint64_t bytes = 0;
    try {
        locked(fs, Access::exclusive(), [&](View& view, const lock::Hold& hold) {
            std::lock_guard guard(file.mutex);
            refresh_path(fs, file);
            fs.changes.touch(hold.generation(), file.node.address);
            if (file.reader && file.reader->indirect()) fs.changes.touch_all(hold.generation());
            bytes = file.staging->written_bytes();
            commit(view, hold, file);
            log::debug(op, ": ", file.node.path, " committed in generation ", hold.generation());
        });
    } catch (const std::exception& e) {
        err = reply::report_failure(op, e, true);
    }
    activity::committed(err, bytes);
    const bool kept = err && (keep == Keep::All || (keep == Keep::Incomplete && err == EINVAL));
    if (!kept) {
        std::lock_guard guard(file.mutex);
        file.staging->clear();
    }
    if (err) reply::err(req, err);
    return err == 0;
}

bool has_uncommitted(OpenFile& file) {
    std::lock_guard guard(file.mutex);
    return file.staging && (file.staging->dirty() || file.staging->failed());
}

// Throws what a commit of what `file` staged would fail with, as it stands.
void check_committable(Filesystem& fs, OpenFile& file) {
    locked(fs, Access::shared(), [&](View& view, const lock::Hold&) {
        std::lock_guard guard(file.mutex);
        check_commit(view, file);
    });
}

}  // namespace

// close(2): a process that wrote through an open file learns from its own close whether
// its bytes were committed. The close commits, in one step, what the open file has
// staged unless another process that also wrote through it still has it open (the
// subshell in `{ echo head; cat body; } > ds`): then the last of them commits. A
// process that did not write (the shell that made a redirection, a child that inherited
// the descriptor) does not hold a commit back, so `cat part >> ds` gets the commit's
// error from its own close, not the shell that ignores it. While other processes still
// hold the open file, staged bytes that could not be committed as they stand (20 bytes
// of a 48-byte dataset, a partial row) fail the close with EINVAL and stay staged for
// the next writer through the same open file. What no close committed is committed at
// release.
void flush(fuse_req_t req, fuse_ino_t, fuse_file_info* fi) {
    Filesystem& fs = filesystem_of(req);
    OpenFile& file = *open_file(fi);
    if (file.writable) fs.open_truncations.closed(&file);
    bool dirty, failed, wrote;
    std::set<pid_t> writers;
    pid_t closer = 0;
    {
        std::lock_guard guard(file.mutex);
        failed = file.staging && file.staging->failed();
        dirty = file.staging && (file.staging->dirty() || failed);
        writers = file.writers;
    }
    if (!dirty) {
        reply::err(req, 0);
        return;
    }
    closer = process_of(req);
    wrote = writers.count(closer) > 0;
    // A process that wrote nothing through this open file (and had no write refused) and
    // still has it open: the child of `cmd > ds` opens with O_TRUNC, duplicates the
    // descriptor onto its standard output, closes the first one and runs cmd. Committing
    // the truncation alone there would show readers an empty dataset while cmd runs, and
    // leave it so were cmd's bytes refused. /proc tells a dataset open, not which open
    // file: only when this is the mount's one open of the dataset for writing is the
    // descriptor the process still has known to be of this open file.
    const bool may_hold_this = !wrote && !failed && fs.handles.count<OpenFile>([&](const OpenFile& other) {
        return other.writable && other.ino == file.ino;
    }) == 1;
    std::set<pid_t> asked = writers;
    if (may_hold_this) asked.insert(closer);
    const std::set<pid_t> holders = holders_for_writing(fs.mount_id, file.ino, asked);
    if (may_hold_this && holders.count(closer)) {
        log::debug("close of ", file.node.path, " by process ", closer,
                   ", which wrote nothing through it and still has it open: no commit");
        reply::err(req, 0);
        return;
    }
    const auto other_writer = std::find_if(holders.begin(), holders.end(),
                                           [&](pid_t pid) { return pid != closer && writers.count(pid); });
    if (other_writer != holders.end()) {
        log::debug("close of ", file.node.path, " by process ", closer, ": process ", *other_writer,
                   " wrote through it too and still has it open; it commits");
        if (wrote) check_committable(fs, file);
        reply::err(req, 0);
        return;
    }
    // A process killed by a signal (Ctrl-C, SIGKILL, the OOM killer, `timeout`) has its
    // descriptors closed by the kernel as it dies: what was staged is dropped, not
    // committed, so an interrupted `cp` leaves the dataset as it was.
    if (const int signal = util::fatal_signal_of(fuse_req_ctx(req)->pid)) {
        {
            std::lock_guard guard(file.mutex);
            file.staging->clear();
        }
        log::warning(file.node.path, ": process ", closer, " was killed (signal ", signal,
                     ") with writes staged; they are dropped, the dataset is as it was");
        reply::err(req, 0);
        return;
    }
    // What cannot be committed as it stands stays staged: a process that holds the open
    // file without having written yet (one that inherited it) may complete it. The last
    // close of all, the release, commits it or drops it.
    if (commit_staged(req, file, "commit", Keep::Incomplete)) reply::err(req, 0);
}

void fsync(fuse_req_t req, fuse_ino_t, int, fuse_file_info* fi) {
    OpenFile& file = *open_file(fi);
    if (!has_uncommitted(file)) {
        reply::err(req, 0);
        return;
    }
    // The file stays open: what could not be committed (a partial row that later writes
    // complete, a lock that could not be had) stays staged for its close.
    if (commit_staged(req, file, "fsync", Keep::All)) reply::err(req, 0);
}

void release(fuse_req_t req, fuse_ino_t, fuse_file_info* fi) {
    Filesystem& fs = filesystem_of(req);
    if (open_file(fi)->writable) fs.open_truncations.closed(open_file(fi));
    // After the last close: what no close committed is committed now. Its
    // error has no one to go to but the log.
    bool replied = false;
    if (has_uncommitted(*open_file(fi))) replied = !commit_staged(req, *open_file(fi), "commit at release", Keep::Nothing);
    {
        OpenFile* file = open_file(fi);
        if (file->pinned_reader) {
            fs.pins.remove(file);
            std::shared_ptr<lock::Hold> pin = Pins::take(file);  // let go before the view mutex
        }
        // Closing a read-only handle touches no file data, but must not race a
        // reopen of the view, which invalidates every handle of the old file.
        std::shared_lock guard(fs.view_mutex);
        h5::silence_library_errors();
        fs.handles.drop(fi->fh);
    }
    if (!replied) reply::err(req, 0);
}

}  // namespace ops
}  // namespace h5swmrfs::fs
