// The operation table: which function serves which FUSE request. Every one runs inside
// reply::guarded, so no exception ever reaches libfuse.
#include <algorithm>
#include <cstddef>
#include <string_view>

#include "fs/ops.h"

namespace h5swmrfs::fs {
namespace {

template <std::size_t N>
struct Name {
    char text[N];
    constexpr Name(const char (&s)[N]) { std::copy_n(s, N, text); }  // NOLINT: implicit on purpose
};

template <Name name, auto Op>
struct Guarded;

template <Name name, class... Args, void (*Op)(fuse_req_t, Args...)>
struct Guarded<name, Op> {
    // Made when the program starts: every kind is counted, at 0, from the first scrape.
    static inline activity::Operation kind{name.text};

    static void call(fuse_req_t req, Args... args) {
        // forget answers with no reply at all, whatever happens.
        constexpr bool answered_by_none = std::string_view(name.text).starts_with("forget");
        reply::guarded(kind, req, answered_by_none, [&] { Op(req, args...); });
    }
};

template <Name name, auto Op>
constexpr auto guarded = &Guarded<name, Op>::call;

void init(void*, fuse_conn_info* conn) {
    // Large requests: a read(2) of 1 MiB reaches the daemon as two (kMaxRead, sent at
    // once), a write of 1 MiB as one (cp hands over 1 MiB per write, not 128 KiB).
    conn->max_read = kMaxRead;
    conn->max_readahead = KernelCache::kReadaheadKiB << 10;
    conn->max_write = 1 << 20;
    // Contiguous datasets are answered from the file's pages by splice (reply::data).
    if (conn->capable & FUSE_CAP_SPLICE_WRITE) conn->want |= FUSE_CAP_SPLICE_WRITE;
    // Directory contents are served with their attributes (readdirplus), which
    // saves `ls -l` one lookup per entry.
    if (conn->capable & FUSE_CAP_READDIRPLUS) conn->want |= FUSE_CAP_READDIRPLUS;
    conn->want &= ~FUSE_CAP_READDIRPLUS_AUTO;
    // open(O_TRUNC) arrives as an open and a truncation, which open_truncations.h pairs:
    // with O_TRUNC in the open the kernel would empty the inode on this mount itself.
    conn->want &= ~FUSE_CAP_ATOMIC_O_TRUNC;
    // Written bytes are staged per open file and committed at close: the kernel must
    // hand every write over as it happens, never cache them.
    conn->want &= ~FUSE_CAP_WRITEBACK_CACHE;
}

fuse_lowlevel_ops make_operations() {
    fuse_lowlevel_ops table{};
    table.init = init;
    table.lookup = guarded<"lookup", ops::lookup>;
    table.forget = guarded<"forget", ops::forget>;
    table.forget_multi = guarded<"forget_multi", ops::forget_multi>;
    table.getattr = guarded<"getattr", ops::getattr>;
    table.readlink = guarded<"readlink", ops::readlink>;
    table.opendir = guarded<"opendir", ops::opendir>;
    table.readdir = guarded<"readdir", ops::readdir>;
    table.readdirplus = guarded<"readdirplus", ops::readdirplus>;
    table.releasedir = guarded<"releasedir", ops::releasedir>;
    table.statfs = guarded<"statfs", ops::statfs>;
    table.open = guarded<"open", ops::open>;
    table.read = guarded<"read", ops::read>;
    table.release = guarded<"release", ops::release>;
    table.getxattr = guarded<"getxattr", ops::getxattr>;
    table.listxattr = guarded<"listxattr", ops::listxattr>;

    table.create = guarded<"create", ops::create>;
    table.write = guarded<"write", ops::write>;
    table.flush = guarded<"flush", ops::flush>;
    table.fsync = guarded<"fsync", ops::fsync>;
    table.setattr = guarded<"setattr", ops::setattr>;
    table.mkdir = guarded<"mkdir", ops::mkdir>;
    table.mknod = guarded<"mknod", ops::mknod>;
    table.unlink = guarded<"unlink", ops::unlink>;
    table.rmdir = guarded<"rmdir", ops::rmdir>;
    table.rename = guarded<"rename", ops::rename>;
    table.symlink = guarded<"symlink", ops::symlink>;
    table.link = guarded<"link", ops::link>;
    table.setxattr = guarded<"setxattr", ops::setxattr>;
    table.removexattr = guarded<"removexattr", ops::removexattr>;
    return table;
}

}  // namespace

const fuse_lowlevel_ops& operations() {
    static const fuse_lowlevel_ops table = make_operations();
    return table;
}

}  // namespace h5swmrfs::fs
