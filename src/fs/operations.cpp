// The operation table: which function serves which FUSE request.
#include "fs/ops.h"

namespace h5swmrfs::fs {
namespace {

void init(void*, fuse_conn_info* conn) {
    // Large requests: one read(2) of 1 MiB reaches the daemon as one request.
    conn->max_readahead = 1 << 20;
    conn->max_write = 1 << 20;  // cp hands over 1 MiB per write, not 128 KiB
    if (conn->capable & FUSE_CAP_SPLICE_WRITE) conn->want &= ~FUSE_CAP_SPLICE_WRITE;
    // Directory contents are served with their attributes (readdirplus), which
    // saves `ls -l` one lookup per entry.
    if (conn->capable & FUSE_CAP_READDIRPLUS) conn->want |= FUSE_CAP_READDIRPLUS;
    conn->want &= ~FUSE_CAP_READDIRPLUS_AUTO;
    // open(O_TRUNC) arrives as one request, so `cp` over a dataset is one replacement
    // committed at close, not a truncation followed by writes.
    if (conn->capable & FUSE_CAP_ATOMIC_O_TRUNC) conn->want |= FUSE_CAP_ATOMIC_O_TRUNC;
    // Written bytes are staged per open file and committed at close: the kernel must
    // hand every write over as it happens, never cache them.
    conn->want &= ~FUSE_CAP_WRITEBACK_CACHE;
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

    table.create = ops::create;
    table.write = ops::write;
    table.flush = ops::flush;
    table.fsync = ops::fsync;
    table.setattr = ops::setattr;
    table.mkdir = ops::mkdir;
    table.mknod = ops::mknod;
    table.unlink = ops::unlink;
    table.rmdir = ops::rmdir;
    table.rename = ops::rename;
    table.symlink = ops::symlink;
    table.link = ops::link;
    table.setxattr = ops::setxattr;
    table.removexattr = ops::removexattr;
    return table;
}

}  // namespace

const fuse_lowlevel_ops& operations() {
    static const fuse_lowlevel_ops table = make_operations();
    return table;
}

}  // namespace h5swmrfs::fs
