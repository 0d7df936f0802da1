#include "h5/journal.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "h5/redo.h"
#include "util/error.h"
#include "util/file_io.h"
#include "util/log.h"

namespace h5swmrfs::h5 {

using util::read_all;
using util::sync_data;
using util::write_all;

Journal::Journal(std::string file) : file_(std::move(file)) {}

Journal::~Journal() {
    if (!finished_) discard();
}

bool Journal::fail(int err) {
    error_ = err;
    return false;
}

bool Journal::open_file(const char* name, unsigned flags) {
    if (open_ || fd_) return fail(EBUSY);  // one open per journal
    if (!(flags & H5F_ACC_RDWR) || (flags & (H5F_ACC_TRUNC | H5F_ACC_CREAT))) return fail(EINVAL);
    fd_.reset(::open(name, O_RDWR | O_CLOEXEC));
    if (!fd_) return fail(errno);
    handle_ = fd_.get();
    struct stat st {};
    if (::fstat(fd_.get(), &st) != 0) return fail(errno);
    old_size_ = end_ = static_cast<std::uint64_t>(st.st_size);
    // Unnamed where the filesystem allows (a writer that dies leaves nothing behind).
    const std::string base = file_.substr(file_.rfind('/') + 1);
    journal_fd_.reset(util::open_temporary(util::directory_of(file_), base + ".h5swmrfs-journal-", 0644, journal_name_));
    if (!journal_fd_) return fail(errno);
    const auto header = redo::header();
    if (int err = write_all(journal_fd_.get(), header.data(), header.size(), 0)) return fail(err);
    journal_end_ = header.size();
    open_ = true;
    return true;
}

bool Journal::read(std::uint64_t address, std::size_t size, void* buffer) {
    auto* out = static_cast<unsigned char*>(buffer);
    // The file as it is (zeros past its end, or past the size HDF5 gave it) ...
    const std::uint64_t readable = address < end_ ? std::min<std::uint64_t>(size, end_ - address) : 0;
    if (int err = read_all(fd_.get(), out, readable, address)) return fail(err);
    std::memset(out + readable, 0, size - readable);
    // ... with what this open wrote over it.
    for (const Overlay::Piece& piece : overlay_.find(address, size))
        if (int err = read_all(journal_fd_.get(), out + (piece.address - address), piece.length, piece.source))
            return fail(err);
    return true;
}

bool Journal::append_record(std::uint64_t address, std::size_t size, const void* buffer) {
    const auto head = redo::record_head(address, size);
    if (int err = write_all(journal_fd_.get(), head.data(), head.size(), journal_end_)) return fail(err);
    if (int err = write_all(journal_fd_.get(), buffer, size, journal_end_ + head.size())) return fail(err);
    records_.push_back(Record{address, size, journal_end_ + head.size()});
    overlay_.put(address, size, journal_end_ + head.size());
    journal_end_ += head.size() + size;
    return true;
}

bool Journal::write(std::uint64_t address, std::size_t size, const void* buffer) {
    // A change being dropped: what HDF5 still writes (its close) goes nowhere. Failing it
    // instead would fail H5Fclose, which leaves a half-destroyed file in HDF5's tables for
    // its exit handler to crash on.
    if (dropping_ || fenced_) return true;
    const auto* in = static_cast<const unsigned char*>(buffer);
    // Over the old file: journaled. Past its old end: straight to the file.
    const std::size_t journaled = address < old_size_ ? std::min<std::uint64_t>(size, old_size_ - address) : 0;
    if (journaled > 0 && !append_record(address, journaled, in)) return false;
    if (journaled < size) {
        if (int err = write_all(fd_.get(), in + journaled, size - journaled, address + journaled)) return fail(err);
        appended_ = true;
    }
    end_ = std::max<std::uint64_t>(end_, address + size);
    return true;
}

void Journal::commit(const std::function<void()>& still_ours) {
    if (open_) throw Error(EIO, file_ + ": the journal is committed before HDF5 closed the file");
    if (fenced_ || !fd_) throw Error(EIO, file_ + ": the lock was lost; the change is dropped");
    const bool resized = truncated_ && end_ != old_size_;
    if (records_.empty() && !resized) {
        // Nothing written over the old file: what was appended is all there is.
        if (appended_) sync_data(fd_.get(), file_);
        finished_ = true;
        return;
    }
    const std::uint64_t new_size = resized ? end_ : redo::kKeepSize;
    const auto trailer = redo::trailer(records_.size(), journal_end_ - redo::kHeaderSize, new_size);
    if (int err = write_all(journal_fd_.get(), trailer.data(), trailer.size(), journal_end_))
        throw Error(err, file_ + ": cannot write the journal");
    sync_data(journal_fd_.get(), file_ + " journal");
    if (appended_) sync_data(fd_.get(), file_);  // what the journal refers to is in place first

    // Published: from here the change will reach the file, by this writer or the next.
    still_ours();
    const std::string redo = redo_path(file_);
    if (journal_name_.empty()) {
        const std::string self = "/proc/self/fd/" + std::to_string(journal_fd_.get());
        if (::linkat(AT_FDCWD, self.c_str(), AT_FDCWD, redo.c_str(), AT_SYMLINK_FOLLOW) != 0)
            throw Error(errno == EEXIST ? EIO : errno, redo + ": cannot publish the journal");
    } else if (::rename(journal_name_.c_str(), redo.c_str()) != 0) {
        throw Error(errno, redo + ": cannot publish the journal");
    } else {
        journal_name_.clear();
    }
    finished_ = true;
    util::sync_directory_of(file_);

    std::vector<redo::Span> spans;
    spans.reserve(records_.size());
    for (const Record& record : records_) spans.push_back(redo::Span{record.address, record.length, record.source});
    redo::apply(journal_fd_.get(), fd_.get(), spans, new_size, file_);
    if (::unlink(redo.c_str()) != 0) throw Error(errno, redo + ": cannot remove");
    util::sync_directory_of(file_);
}

void Journal::discard() noexcept {
    if (finished_) return;
    finished_ = true;
    if (!journal_name_.empty()) {
        ::unlink(journal_name_.c_str());
        journal_name_.clear();
    }
    // What was appended past the old end belongs to no one: cut it off, if the file is still ours.
    if (appended_ && !fenced_ && fd_) {
        if (::ftruncate(fd_.get(), static_cast<off_t>(old_size_)) != 0)
            log::warning(file_, ": could not cut off what a dropped change appended: ", std::strerror(errno));
    }
}

void Journal::drop_writes() noexcept { dropping_ = true; }

void Journal::fence() noexcept {
    fenced_ = true;
    if (!fd_) return;
    const util::Fd null(::open("/dev/null", O_RDWR | O_CLOEXEC));
    if (null) ::dup2(null.get(), fd_.get());  // atomic: the descriptor number stays, and leads nowhere
}

}  // namespace h5swmrfs::h5
