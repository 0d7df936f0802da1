#include "h5/journal.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <H5FDpublic.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <climits>
#include <cstring>
#include <vector>

#include "util/error.h"
#include "util/log.h"

namespace h5swmrfs::h5 {
namespace {

// The redo file (docs/LOCKING.md): a header, records, a trailer; integers are
// 64-bit little-endian.
constexpr char kHeaderMagic[8] = {'H', '5', 'S', 'W', 'R', 'D', 'O', '1'};
constexpr char kTrailerMagic[8] = {'H', '5', 'S', 'W', 'E', 'N', 'D', '1'};
constexpr std::uint64_t kHeaderSize = 16;   // magic, 0 (reserved)
constexpr std::uint64_t kRecordHead = 16;   // address, length; then the bytes
constexpr std::uint64_t kTrailerSize = 40;  // magic, record count, bytes of records, new size, 0
constexpr std::uint64_t kKeepSize = ~std::uint64_t{0};

static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__, "the redo format is little-endian");

std::string directory_of(const std::string& file) {
    const auto slash = file.rfind('/');
    return slash == std::string::npos ? "." : slash == 0 ? "/" : file.substr(0, slash);
}

void put_u64(unsigned char* at, std::uint64_t value) { std::memcpy(at, &value, 8); }
std::uint64_t get_u64(const unsigned char* at) {
    std::uint64_t value;
    std::memcpy(&value, at, 8);
    return value;
}

// Whole writes and reads, or errno.
int write_all(int fd, const void* data, std::size_t size, std::uint64_t offset) {
    const auto* p = static_cast<const unsigned char*>(data);
    while (size > 0) {
        ssize_t n = ::pwrite(fd, p, std::min<std::size_t>(size, 1u << 30), static_cast<off_t>(offset));
        if (n < 0) {
            if (errno == EINTR) continue;
            return errno;
        }
        p += n, size -= static_cast<std::size_t>(n), offset += static_cast<std::uint64_t>(n);
    }
    return 0;
}

// Reads up to `size` bytes; what lies past the end of the file reads as zeros.
int read_all(int fd, void* data, std::size_t size, std::uint64_t offset) {
    auto* p = static_cast<unsigned char*>(data);
    while (size > 0) {
        ssize_t n = ::pread(fd, p, std::min<std::size_t>(size, 1u << 30), static_cast<off_t>(offset));
        if (n < 0) {
            if (errno == EINTR) continue;
            return errno;
        }
        if (n == 0) {
            std::memset(p, 0, size);
            return 0;
        }
        p += n, size -= static_cast<std::size_t>(n), offset += static_cast<std::uint64_t>(n);
    }
    return 0;
}

// Copies `length` bytes from `from` at `source` to `to` at `target`, in the kernel where it can.
int copy_range(int from, std::uint64_t source, int to, std::uint64_t target, std::uint64_t length) {
    while (length > 0) {
        loff_t in = static_cast<loff_t>(source), out = static_cast<loff_t>(target);
        ssize_t n = ::copy_file_range(from, &in, to, &out, std::min<std::uint64_t>(length, 1u << 30), 0);
        if (n > 0) {
            source += static_cast<std::uint64_t>(n), target += static_cast<std::uint64_t>(n);
            length -= static_cast<std::uint64_t>(n);
            continue;
        }
        if (n < 0 && errno == EINTR) continue;
        if (n == 0 || errno == EXDEV || errno == EINVAL || errno == ENOSYS || errno == EOPNOTSUPP) break;
        return errno;
    }
    std::vector<unsigned char> buffer(std::min<std::uint64_t>(length, 4u << 20));
    while (length > 0) {
        const std::size_t n = std::min<std::uint64_t>(length, buffer.size());
        if (int err = read_all(from, buffer.data(), n, source)) return err;
        if (int err = write_all(to, buffer.data(), n, target)) return err;
        source += n, target += n, length -= n;
    }
    return 0;
}

void sync_directory(const std::string& file) {
    const int fd = ::open(directory_of(file).c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) throw Error(errno, directory_of(file) + ": cannot open to sync it");
    const int status = ::fsync(fd);
    const int err = errno;
    ::close(fd);
    if (status != 0 && err != EINVAL) throw Error(err, directory_of(file) + ": cannot sync");
}

void check_sync(int fd, const std::string& what) {
    if (::fdatasync(fd) != 0) throw Error(errno, what + ": cannot sync");
}

struct Span {
    std::uint64_t address, length, source;
};

// Copies `spans` (bytes of journal `from`) into the file `to`, sets its size, syncs it.
void apply(int from, int to, const std::vector<Span>& spans, std::uint64_t new_size, const std::string& file) {
    for (const Span& span : spans)
        if (int err = copy_range(from, span.source, to, span.address, span.length))
            throw Error(err, file + ": cannot write a journaled change");
    if (new_size != kKeepSize && ::ftruncate(to, static_cast<off_t>(new_size)) != 0)
        throw Error(errno, file + ": cannot set its size");
    check_sync(to, file);
}

// The redo file's records and the size it gives the file; EIO if it is not whole.
std::vector<Span> parse_redo(int fd, const std::string& path, std::uint64_t& new_size) {
    struct stat st {};
    if (::fstat(fd, &st) != 0) throw Error(errno, path + ": cannot stat");
    const auto size = static_cast<std::uint64_t>(st.st_size);
    auto broken = [&](const std::string& why) { return Error(EIO, path + ": not a whole redo file (" + why + ")"); };
    if (size < kHeaderSize + kTrailerSize) throw broken("too short");
    std::array<unsigned char, kTrailerSize> trailer{};
    std::array<unsigned char, kHeaderSize> header{};
    if (read_all(fd, header.data(), header.size(), 0) || read_all(fd, trailer.data(), trailer.size(), size - kTrailerSize))
        throw Error(errno, path + ": cannot read");
    if (std::memcmp(header.data(), kHeaderMagic, 8) != 0) throw broken("bad header");
    if (std::memcmp(trailer.data(), kTrailerMagic, 8) != 0) throw broken("bad trailer");
    const std::uint64_t count = get_u64(&trailer[8]), bytes = get_u64(&trailer[16]);
    new_size = get_u64(&trailer[24]);
    if (bytes != size - kHeaderSize - kTrailerSize) throw broken("length mismatch");
    std::vector<Span> spans;
    std::uint64_t at = kHeaderSize;
    const std::uint64_t end = size - kTrailerSize;
    while (at < end) {
        unsigned char head[kRecordHead];
        if (end - at < kRecordHead || read_all(fd, head, kRecordHead, at)) throw broken("cut record");
        const std::uint64_t address = get_u64(head), length = get_u64(head + 8);
        at += kRecordHead;
        if (length > end - at || address > (std::uint64_t{1} << 62)) throw broken("bad record");
        spans.push_back(Span{address, length, at});
        at += length;
    }
    if (spans.size() != count) throw broken("record count");
    return spans;
}

// --- the HDF5 virtual file driver -----------------------------------------------

struct Info {
    Journal* journal;
};

}  // namespace

struct Journal::Driver {
    H5FD_t pub;  // first: HDF5 sees this part
    Journal* journal;
    haddr_t eoa;

    static Journal& of(const H5FD_t* file) { return *reinterpret_cast<const Driver*>(file)->journal; }

    static herr_t fail(const char* func, Journal& journal, const char* what) {
        const int err = journal.error() ? journal.error() : EIO;
        // "errno = N" is how HDF5's own drivers say it, and what h5::fail() looks for.
        H5Epush2(H5E_DEFAULT, __FILE__, func, __LINE__, H5E_ERR_CLS, H5E_VFL,
                 H5E_WRITEERROR, "journal %s failed: errno = %d, error message = '%s'", what, err,
                 std::strerror(err));
        return -1;
    }

    static void* fapl_get(H5FD_t* file) { return new Info{reinterpret_cast<Driver*>(file)->journal}; }
    static void* fapl_copy(const void* info) { return new Info(*static_cast<const Info*>(info)); }
    static herr_t fapl_free(void* info) {
        delete static_cast<Info*>(info);
        return 0;
    }

    static H5FD_t* open(const char* name, unsigned flags, hid_t fapl, haddr_t) {
        const auto* info = static_cast<const Info*>(H5Pget_driver_info(fapl));
        if (!info || !info->journal) return nullptr;
        if (!info->journal->open_file(name, flags)) {
            fail("open", *info->journal, "open");
            return nullptr;
        }
        auto* driver = new Driver{};
        driver->journal = info->journal;
        driver->eoa = 0;
        return &driver->pub;
    }
    static herr_t close(H5FD_t* file) {
        auto* driver = reinterpret_cast<Driver*>(file);
        driver->journal->close_file();
        delete driver;
        return 0;
    }
    static int cmp(const H5FD_t* a, const H5FD_t* b) {
        struct stat sa {}, sb {};
        ::fstat(*of(a).descriptor(), &sa);
        ::fstat(*of(b).descriptor(), &sb);
        if (sa.st_dev != sb.st_dev) return sa.st_dev < sb.st_dev ? -1 : 1;
        if (sa.st_ino != sb.st_ino) return sa.st_ino < sb.st_ino ? -1 : 1;
        return 0;
    }
    static herr_t query(const H5FD_t*, unsigned long* flags) {
        *flags = H5FD_FEAT_AGGREGATE_METADATA | H5FD_FEAT_ACCUMULATE_METADATA | H5FD_FEAT_DATA_SIEVE |
                 H5FD_FEAT_AGGREGATE_SMALLDATA;
        return 0;
    }
    static haddr_t get_eoa(const H5FD_t* file, H5FD_mem_t) { return reinterpret_cast<const Driver*>(file)->eoa; }
    static herr_t set_eoa(H5FD_t* file, H5FD_mem_t, haddr_t address) {
        reinterpret_cast<Driver*>(file)->eoa = address;
        return 0;
    }
    static haddr_t get_eof(const H5FD_t* file, H5FD_mem_t) { return of(file).end(); }
    static herr_t get_handle(H5FD_t* file, hid_t, void** handle) {
        *handle = of(file).descriptor();
        return 0;
    }
    static herr_t read(H5FD_t* file, H5FD_mem_t, hid_t, haddr_t address, size_t size, void* buffer) {
        Journal& journal = of(file);
        return journal.read(address, size, buffer) ? 0 : fail("read", journal, "read");
    }
    static herr_t write(H5FD_t* file, H5FD_mem_t, hid_t, haddr_t address, size_t size, const void* buffer) {
        Journal& journal = of(file);
        return journal.write(address, size, buffer) ? 0 : fail("write", journal, "write");
    }
    static herr_t flush(H5FD_t*, hid_t, hbool_t) { return 0; }  // durability comes with commit()
    static herr_t truncate(H5FD_t* file, hid_t, hbool_t) {
        auto* driver = reinterpret_cast<Driver*>(file);
        if (driver->eoa != driver->journal->end()) driver->journal->truncate(driver->eoa);
        return 0;
    }

    static hid_t id() {
        static const hid_t registered = [] {
            static H5FD_class_t cls{};
            cls.name = "h5swmrfs-journal";
            cls.maxaddr = static_cast<haddr_t>(LLONG_MAX);
            cls.fc_degree = H5F_CLOSE_WEAK;
            cls.fapl_size = sizeof(Info);
            cls.fapl_get = fapl_get;
            cls.fapl_copy = fapl_copy;
            cls.fapl_free = fapl_free;
            cls.open = open;
            cls.close = close;
            cls.cmp = cmp;
            cls.query = query;
            cls.get_eoa = get_eoa;
            cls.set_eoa = set_eoa;
            cls.get_eof = get_eof;
            cls.get_handle = get_handle;
            cls.read = read;
            cls.write = write;
            cls.flush = flush;
            cls.truncate = truncate;
            const H5FD_mem_t map[] = H5FD_FLMAP_DICHOTOMY;
            std::copy(std::begin(map), std::end(map), cls.fl_map);
            return H5FDregister(&cls);
        }();
        return registered;
    }
};

// --- Journal -----------------------------------------------------------------------

std::string redo_path(const std::string& file) { return file + ".h5swmrfs-redo"; }

bool recovery_pending(const std::string& file) {
    struct stat st {};
    return ::stat(redo_path(file).c_str(), &st) == 0;
}

bool recover(const std::string& file) {
    const std::string redo = redo_path(file);
    const int from = ::open(redo.c_str(), O_RDONLY | O_CLOEXEC);
    if (from < 0) {
        if (errno == ENOENT) return false;
        throw Error(errno, redo + ": cannot open");
    }
    try {
        std::uint64_t new_size = kKeepSize;
        std::vector<Span> spans = parse_redo(from, redo, new_size);
        const int to = ::open(file.c_str(), O_RDWR | O_CLOEXEC);
        if (to < 0) throw Error(errno, file + ": cannot open to finish an interrupted commit");
        try {
            apply(from, to, spans, new_size, file);
        } catch (...) {
            ::close(to);
            throw;
        }
        ::close(to);
        if (::unlink(redo.c_str()) != 0 && errno != ENOENT) throw Error(errno, redo + ": cannot remove");
        sync_directory(file);
    } catch (...) {
        ::close(from);
        throw;
    }
    ::close(from);
    log::warning(file, ": finished a commit whose writer stopped halfway (", redo, " replayed)");
    return true;
}

Journal::Journal(std::string file) : file_(std::move(file)) {}

Journal::~Journal() {
    if (!finished_) discard();
    if (fd_ >= 0) ::close(fd_);
    if (journal_fd_ >= 0) ::close(journal_fd_);
}

void Journal::configure(hid_t fapl) {
    const hid_t driver = Driver::id();
    if (driver < 0) throw Error(EIO, "cannot register the journal file driver");
    Info info{this};
    if (H5Pset_driver(fapl, driver, &info) < 0) throw Error(EIO, "cannot set the journal file driver");
}

bool Journal::fail(int err) {
    error_ = err;
    return false;
}

bool Journal::open_file(const char* name, unsigned flags) {
    if (open_ || fd_ >= 0) return fail(EBUSY);  // one open per journal
    if (!(flags & H5F_ACC_RDWR) || (flags & (H5F_ACC_TRUNC | H5F_ACC_CREAT))) return fail(EINVAL);
    fd_ = ::open(name, O_RDWR | O_CLOEXEC);
    if (fd_ < 0) return fail(errno);
    struct stat st {};
    if (::fstat(fd_, &st) != 0) return fail(errno);
    old_size_ = end_ = static_cast<std::uint64_t>(st.st_size);
    // Unnamed where the filesystem allows (a writer that dies leaves nothing behind).
    journal_fd_ = ::open(directory_of(file_).c_str(), O_TMPFILE | O_RDWR | O_CLOEXEC, 0644);
    if (journal_fd_ < 0) {
        std::string name_template = file_ + ".h5swmrfs-journal-XXXXXX";
        journal_fd_ = ::mkostemp(name_template.data(), O_CLOEXEC);
        if (journal_fd_ < 0) return fail(errno);
        journal_name_ = name_template;
    }
    unsigned char header[kHeaderSize] = {};
    std::memcpy(header, kHeaderMagic, 8);
    if (int err = write_all(journal_fd_, header, kHeaderSize, 0)) return fail(err);
    journal_end_ = kHeaderSize;
    open_ = true;
    return true;
}

bool Journal::read(std::uint64_t address, std::size_t size, void* buffer) {
    auto* out = static_cast<unsigned char*>(buffer);
    // The file as it is (zeros past its end, or past the size HDF5 gave it) ...
    const std::uint64_t readable = address < end_ ? std::min<std::uint64_t>(size, end_ - address) : 0;
    if (int err = read_all(fd_, out, readable, address)) return fail(err);
    std::memset(out + readable, 0, size - readable);
    // ... with what this open wrote over it.
    for (const Overlay::Piece& piece : overlay_.find(address, size))
        if (int err = read_all(journal_fd_, out + (piece.address - address), piece.length, piece.source))
            return fail(err);
    return true;
}

bool Journal::append_record(std::uint64_t address, std::size_t size, const void* buffer) {
    unsigned char head[kRecordHead];
    put_u64(head, address);
    put_u64(head + 8, size);
    if (int err = write_all(journal_fd_, head, kRecordHead, journal_end_)) return fail(err);
    if (int err = write_all(journal_fd_, buffer, size, journal_end_ + kRecordHead)) return fail(err);
    records_.push_back(Record{address, size, journal_end_ + kRecordHead});
    overlay_.put(address, size, journal_end_ + kRecordHead);
    journal_end_ += kRecordHead + size;
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
        if (int err = write_all(fd_, in + journaled, size - journaled, address + journaled)) return fail(err);
        appended_ = true;
    }
    end_ = std::max<std::uint64_t>(end_, address + size);
    return true;
}

void Journal::commit(const std::function<void()>& still_ours) {
    if (open_) throw Error(EIO, file_ + ": the journal is committed before HDF5 closed the file");
    if (fenced_ || fd_ < 0) throw Error(EIO, file_ + ": the lock was lost; the change is dropped");
    const bool resized = truncated_ && end_ != old_size_;
    if (records_.empty() && !resized) {
        // Nothing written over the old file: what was appended is all there is.
        if (appended_) check_sync(fd_, file_);
        finished_ = true;
        return;
    }
    unsigned char trailer[kTrailerSize] = {};
    std::memcpy(trailer, kTrailerMagic, 8);
    put_u64(trailer + 8, records_.size());
    put_u64(trailer + 16, journal_end_ - kHeaderSize);
    put_u64(trailer + 24, resized ? end_ : kKeepSize);
    if (int err = write_all(journal_fd_, trailer, kTrailerSize, journal_end_))
        throw Error(err, file_ + ": cannot write the journal");
    check_sync(journal_fd_, file_ + " journal");
    if (appended_) check_sync(fd_, file_);  // what the journal refers to is in place first

    // Published: from here the change will reach the file, by this writer or the next.
    still_ours();
    const std::string redo = redo_path(file_);
    if (journal_name_.empty()) {
        const std::string self = "/proc/self/fd/" + std::to_string(journal_fd_);
        if (::linkat(AT_FDCWD, self.c_str(), AT_FDCWD, redo.c_str(), AT_SYMLINK_FOLLOW) != 0)
            throw Error(errno == EEXIST ? EIO : errno, redo + ": cannot publish the journal");
    } else if (::rename(journal_name_.c_str(), redo.c_str()) != 0) {
        throw Error(errno, redo + ": cannot publish the journal");
    } else {
        journal_name_.clear();
    }
    finished_ = true;
    sync_directory(file_);

    std::vector<Span> spans;
    spans.reserve(records_.size());
    for (const Record& record : records_) spans.push_back(Span{record.address, record.length, record.source});
    apply(journal_fd_, fd_, spans, resized ? end_ : kKeepSize, file_);
    if (::unlink(redo.c_str()) != 0) throw Error(errno, redo + ": cannot remove");
    sync_directory(file_);
}

void Journal::discard() noexcept {
    if (finished_) return;
    finished_ = true;
    if (!journal_name_.empty()) {
        ::unlink(journal_name_.c_str());
        journal_name_.clear();
    }
    // What was appended past the old end belongs to no one: cut it off, if the file is still ours.
    if (appended_ && !fenced_ && fd_ >= 0) {
        if (::ftruncate(fd_, static_cast<off_t>(old_size_)) != 0)
            log::warning(file_, ": could not cut off what a dropped change appended: ", std::strerror(errno));
    }
}

void Journal::drop_writes() noexcept { dropping_ = true; }

void Journal::fence() noexcept {
    fenced_ = true;
    if (fd_ < 0) return;
    const int null = ::open("/dev/null", O_RDWR | O_CLOEXEC);
    if (null < 0) return;
    ::dup2(null, fd_);  // atomic: the descriptor number stays, and leads nowhere
    ::close(null);
}

}  // namespace h5swmrfs::h5
