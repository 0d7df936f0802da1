#include "fs/reply.h"

#include <sys/uio.h>

#include <cstring>
#include <vector>

#include "fs/kernel_cache.h"
#include "util/bytes.h"
#include "util/happens_before.h"
#include "util/error.h"
#include "util/log.h"

namespace h5swmrfs::fs::reply {
namespace {

thread_local fuse_req_t serving = nullptr;  // the request this thread serves, until answered
thread_local int served_error = 0;           // the errno it was answered with

// An answer written to /dev/fuse happens before every request read from it after: the
// kernel orders them (a reader woken by the answer closes its file: the release comes
// while the thread that answered is still in libfuse). Told to ThreadSanitizer through this.
const char kernel_channel = 0;

// Notes that `req` has its answer (before it is sent: sending frees the request).
fuse_req_t answering(fuse_req_t req) {
    if (serving == req) serving = nullptr;
    util::happens_before(&kernel_channel);
    return req;
}

}  // namespace

int err(fuse_req_t req, int error) {
    if (serving == req) served_error = error;
    return fuse_reply_err(answering(req), error);
}
void none(fuse_req_t req) { fuse_reply_none(answering(req)); }
int entry(fuse_req_t req, const fuse_entry_param* e) { return fuse_reply_entry(answering(req), e); }
int create(fuse_req_t req, const fuse_entry_param* e, const fuse_file_info* fi) {
    return fuse_reply_create(answering(req), e, fi);
}
int attr(fuse_req_t req, const struct stat* st, double timeout) { return fuse_reply_attr(answering(req), st, timeout); }
int readlink(fuse_req_t req, const char* link) { return fuse_reply_readlink(answering(req), link); }
int open(fuse_req_t req, const fuse_file_info* fi) { return fuse_reply_open(answering(req), fi); }
int write(fuse_req_t req, size_t count) { return fuse_reply_write(answering(req), count); }
int buf(fuse_req_t req, const char* data, size_t size) { return fuse_reply_buf(answering(req), data, size); }
int parts(fuse_req_t req, std::span<const std::span<const std::byte>> parts) {
    // Well below what one writev takes (UIO_MAXIOV, 1024, the answer's header included).
    constexpr std::size_t kMaxPieces = 256;
    if (parts.empty()) return fuse_reply_buf(answering(req), nullptr, 0);
    if (parts.size() <= kMaxPieces) {
        std::vector<iovec> pieces;
        pieces.reserve(parts.size());
        for (const auto& part : parts) pieces.push_back({const_cast<std::byte*>(part.data()), part.size()});
        return fuse_reply_iov(answering(req), pieces.data(), static_cast<int>(pieces.size()));
    }
    std::size_t total = 0;
    for (const auto& part : parts) total += part.size();
    util::Bytes gathered(total);
    std::byte* at = gathered.data();
    for (const auto& part : parts) at = static_cast<std::byte*>(std::memcpy(at, part.data(), part.size())) + part.size();
    return fuse_reply_buf(answering(req), reinterpret_cast<const char*>(gathered.data()), gathered.size());
}
int data(fuse_req_t req, int fd, std::uint64_t offset, size_t size) {
    fuse_bufvec from = FUSE_BUFVEC_INIT(size);
    from.buf[0].flags = static_cast<fuse_buf_flags>(FUSE_BUF_IS_FD | FUSE_BUF_FD_SEEK | FUSE_BUF_FD_RETRY);
    from.buf[0].fd = fd;
    from.buf[0].pos = static_cast<off_t>(offset);
    return fuse_reply_data(answering(req), &from, static_cast<fuse_buf_copy_flags>(0));
}
int statfs(fuse_req_t req, const struct statvfs* st) { return fuse_reply_statfs(answering(req), st); }
int xattr(fuse_req_t req, size_t count) { return fuse_reply_xattr(answering(req), count); }

int report_failure(const char* op, const std::exception& e, bool commit) noexcept {
    const int err = errno_of(e);
    // What a user asked for and cannot have is their error, not the mount's.
    switch (err) {
        case ENOENT: case ENODATA: case ERANGE: case EROFS: case EEXIST:
        case ESTALE:  // another mount moved or replaced the object: the kernel looks it up again
            if (commit)
                log::warning(op, ": ", e.what());
            else
                log::debug(op, ": ", e.what());
            break;
        case EINVAL: case ENOTEMPTY: case EISDIR: case ENOTDIR: case EFBIG: case EPERM:
        case EOPNOTSUPP: case ENOSPC: case EBUSY: case ENAMETOOLONG:
            log::warning(op, ": ", e.what());
            break;
        default:
            log::error(op, ": ", e.what());
    }
    return err;
}

namespace detail {

Serving::Serving(fuse_req_t req) {
    util::happens_after(&kernel_channel);
    serving = req;
    served_error = 0;
}
Serving::~Serving() {
    serving = nullptr;
    KernelCache::request_ended();  // its answer is sent: what it read may be dropped now
}
bool Serving::answered() const { return serving == nullptr; }
int Serving::error() const { return served_error; }

void fail(const char* name, fuse_req_t req, bool answered_by_none, const std::exception* e) noexcept {
    const bool answered = serving != req;
    if (answered) {
        log::error(name, ": failed after its answer was sent: ", e ? e->what() : "unknown exception");
        return;
    }
    const int error = e ? report_failure(name, *e) : EIO;
    if (!e) log::error(name, ": unknown exception");
    if (answered_by_none) {
        served_error = error;
        none(req);
    } else {
        err(req, error);
    }
}

}  // namespace detail
}  // namespace h5swmrfs::fs::reply
