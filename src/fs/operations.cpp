// The operation table: which function serves which FUSE request.
#include "fs/ops.h"

namespace h5swmrfs::fs {
namespace {

void init(void*, fuse_conn_info* conn) {
    // Large requests: one read(2) of 1 MiB reaches the daemon as one request.
    conn->max_readahead = 1 << 20;
    if (conn->capable & FUSE_CAP_SPLICE_WRITE) conn->want &= ~FUSE_CAP_SPLICE_WRITE;
    // Directory contents are served with their attributes (readdirplus), which
    // saves `ls -l` one lookup per entry.
    if (conn->capable & FUSE_CAP_READDIRPLUS) conn->want |= FUSE_CAP_READDIRPLUS;
    conn->want &= ~FUSE_CAP_READDIRPLUS_AUTO;
}

// Changes come with the write path (SPEC §5); until then the mount answers every
// change the way a read-only filesystem does.
template <class... Args>
void refuse_change(fuse_req_t req, Args...) {
    fuse_reply_err(req, EROFS);
}

fuse_lowlevel_ops make_operations() {
    fuse_lowlevel_ops table{};
    table.init = init;
    table.lookup = ops::lookup;
    table.forget = ops::forget;
    table.forget_multi = ops::forget_multi;
    table.getattr = ops::getattr;
    table.readlink = ops::readlink;
    table.opendir = ops::opendir;
    table.readdir = ops::readdir;
    table.readdirplus = ops::readdirplus;
    table.releasedir = ops::releasedir;
    table.statfs = ops::statfs;
    table.open = ops::open;
    table.read = ops::read;
    table.release = ops::release;
    table.getxattr = ops::getxattr;
    table.listxattr = ops::listxattr;

    table.setattr = refuse_change<fuse_ino_t, struct stat*, int, fuse_file_info*>;
    table.mknod = refuse_change<fuse_ino_t, const char*, mode_t, dev_t>;
    table.mkdir = refuse_change<fuse_ino_t, const char*, mode_t>;
    table.unlink = refuse_change<fuse_ino_t, const char*>;
    table.rmdir = refuse_change<fuse_ino_t, const char*>;
    table.symlink = refuse_change<const char*, fuse_ino_t, const char*>;
    table.rename = refuse_change<fuse_ino_t, const char*, fuse_ino_t, const char*, unsigned>;
    table.link = refuse_change<fuse_ino_t, fuse_ino_t, const char*>;
    table.create = refuse_change<fuse_ino_t, const char*, mode_t, fuse_file_info*>;
    table.write = refuse_change<fuse_ino_t, const char*, size_t, off_t, fuse_file_info*>;
    table.setxattr = refuse_change<fuse_ino_t, const char*, const char*, size_t, int>;
    table.removexattr = refuse_change<fuse_ino_t, const char*>;
    return table;
}

}  // namespace

const fuse_lowlevel_ops& operations() {
    static const fuse_lowlevel_ops table = make_operations();
    return table;
}

}  // namespace h5swmrfs::fs
