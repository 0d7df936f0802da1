// Changes to the file that all reach it, or none do, even if their writer is killed.
//
// A writable open of the file routes HDF5's I/O through a journal (an HDF5
// virtual file driver). Bytes written over the file as it was at open — its
// metadata, data rewritten in place — go to a journal file, not to the file; reads
// see them there. Bytes written past the file's old end go straight to it: nothing
// committed refers to them yet. To commit, the journal is made durable and published
// under one name beside the file, FILE.h5.h5swmrfs-redo, then copied into the file,
// which is synced, and the redo file removed. A writer that dies before publishing
// leaves the file as it was; one that dies after leaves a redo file, which the next
// holder of the lock replays (the copies are idempotent) before anything else. The
// format is in docs/LOCKING.md.
//
// All of this assumes the exclusive lock is held from open to commit.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include <hdf5.h>

#include "h5/overlay.h"
#include "util/fd.h"
#include "h5/redo.h"

namespace h5swmrfs::h5 {

class Journal {
public:
    // A journal for one writable open of `file`; nothing is created before HDF5 opens it.
    explicit Journal(std::string file);
    ~Journal();
    Journal(const Journal&) = delete;
    Journal& operator=(const Journal&) = delete;

    // Makes `fapl` open the file through this journal (which must outlive the open).
    void configure(hid_t fapl);

    // After HDF5 closed the file: makes the change durable and applies it.
    // `still_ours` throws if the lock was lost; it is asked just before publishing.
    void commit(const std::function<void()>& still_ours);
    // Drops the change: the file is left as it was at open (what was appended past
    // its old end is cut off again unless `fenced`).
    void discard() noexcept;
    // The change will be dropped: HDF5's further writes are accepted and go nowhere.
    void drop_writes() noexcept;
    // The lock was lost: from now on nothing reaches the file, not even by discard().
    void fence() noexcept;

    // What the driver calls, HDF5's global lock held.
    struct Driver;
    bool open_file(const char* name, unsigned flags);
    bool read(std::uint64_t address, std::size_t size, void* buffer);
    bool write(std::uint64_t address, std::size_t size, const void* buffer);
    void truncate(std::uint64_t size) { end_ = size, truncated_ = true; }
    std::uint64_t end() const { return end_; }
    int* descriptor() { return &handle_; }
    void close_file() { open_ = false; }
    int error() const { return error_; }
    const std::string& file() const { return file_; }

private:
    bool append_record(std::uint64_t address, std::size_t size, const void* buffer);
    bool fail(int err);

    struct Record {
        std::uint64_t address, length, source;  // source: where its bytes are in the journal
    };

    std::string file_;
    util::Fd fd_;            // the file
    int handle_ = -1;        // its number, which HDF5 asks for (fence() keeps it)
    util::Fd journal_fd_;    // an unnamed temporary file beside it (or a named one where that fails)
    std::string journal_name_;  // the named one's name
    bool open_ = false, fenced_ = false, dropping_ = false, finished_ = false;
    std::uint64_t old_size_ = 0;   // the file's size at open: below it, writes are journaled
    std::uint64_t end_ = 0;        // the file's size as HDF5 sees it
    bool truncated_ = false;       // HDF5 set the size: the commit sets it too
    bool appended_ = false;        // something was written past old_size_
    std::uint64_t journal_end_ = 0;
    std::vector<Record> records_;
    Overlay overlay_;
    int error_ = 0;
};

}  // namespace h5swmrfs::h5
