// The FUSE low-level operations, one function each, wired in operations.cpp.
// Every one of them ends in exactly one reply (reply.h; forget: reply::none), or throws
// before replying and reply::guarded answers with the errno.
#pragma once

#include "fs/filesystem.h"
#include "fs/locked.h"
#include "fs/reply.h"

namespace h5swmrfs::fs::ops {

// tree.cpp
void lookup(fuse_req_t req, fuse_ino_t parent, const char* name);
void forget(fuse_req_t req, fuse_ino_t ino, uint64_t nlookup);
void forget_multi(fuse_req_t req, size_t count, fuse_forget_data* forgets);
void getattr(fuse_req_t req, fuse_ino_t ino, fuse_file_info* fi);
void readlink(fuse_req_t req, fuse_ino_t ino);
void opendir(fuse_req_t req, fuse_ino_t ino, fuse_file_info* fi);
void readdir(fuse_req_t req, fuse_ino_t ino, size_t size, off_t offset, fuse_file_info* fi);
void readdirplus(fuse_req_t req, fuse_ino_t ino, size_t size, off_t offset, fuse_file_info* fi);
void releasedir(fuse_req_t req, fuse_ino_t ino, fuse_file_info* fi);
void statfs(fuse_req_t req, fuse_ino_t ino);

// file.cpp
void open(fuse_req_t req, fuse_ino_t ino, fuse_file_info* fi);
void create(fuse_req_t req, fuse_ino_t parent, const char* name, mode_t mode, fuse_file_info* fi);
void read(fuse_req_t req, fuse_ino_t ino, size_t size, off_t offset, fuse_file_info* fi);
void write(fuse_req_t req, fuse_ino_t ino, const char* data, size_t size, off_t offset, fuse_file_info* fi);
void flush(fuse_req_t req, fuse_ino_t ino, fuse_file_info* fi);
void fsync(fuse_req_t req, fuse_ino_t ino, int datasync, fuse_file_info* fi);
void release(fuse_req_t req, fuse_ino_t ino, fuse_file_info* fi);

// change.cpp
void mkdir(fuse_req_t req, fuse_ino_t parent, const char* name, mode_t mode);
void mknod(fuse_req_t req, fuse_ino_t parent, const char* name, mode_t mode, dev_t rdev);
void unlink(fuse_req_t req, fuse_ino_t parent, const char* name);
void rmdir(fuse_req_t req, fuse_ino_t parent, const char* name);
void rename(fuse_req_t req, fuse_ino_t parent, const char* name, fuse_ino_t new_parent, const char* new_name,
            unsigned flags);
void symlink(fuse_req_t req, const char* target, fuse_ino_t parent, const char* name);
void link(fuse_req_t req, fuse_ino_t ino, fuse_ino_t new_parent, const char* new_name);
void setattr(fuse_req_t req, fuse_ino_t ino, struct stat* attr, int to_set, fuse_file_info* fi);

// The longest name an object may be given (statfs's f_namemax), in bytes.
constexpr std::size_t kNameMax = 255;
// ENAMETOOLONG for a name longer than kNameMax, which no other filesystem could take on a copy.
void check_new_name(const char* name);

// xattr.cpp
void getxattr(fuse_req_t req, fuse_ino_t ino, const char* name, size_t size);
void listxattr(fuse_req_t req, fuse_ino_t ino, size_t size);
void setxattr(fuse_req_t req, fuse_ino_t ino, const char* name, const char* value, size_t size, int flags);
void removexattr(fuse_req_t req, fuse_ino_t ino, const char* name);

}  // namespace h5swmrfs::fs::ops
