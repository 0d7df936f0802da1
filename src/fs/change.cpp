// Changes to the tree and to sizes: mkdir, rmdir, unlink, rename, symlink, link, mknod, setattr.
// Each runs under an exclusive hold (SPEC §5).
#include <fcntl.h>
#include <linux/fs.h>

#include <cstring>

#include "fs/commit.h"
#include "fs/open_file.h"
#include "fs/ops.h"
#include "fs/space.h"
#include "fs/stat.h"
#include "h5/link_path.h"
#include "util/error.h"

namespace h5swmrfs::fs::ops {
namespace {

h5::Link existing_link(hid_t group, const std::string& directory, const std::string& name) {
    auto link = h5::find_link(group, name);
    if (!link) throw Error(ENOENT, child_path(directory, name) + ": no such name");
    return *link;
}

// The entry for `name` of `dir` just made, looked up again in the same hold.
fuse_entry_param entry_of(Filesystem& fs, View& view, hid_t group, const Node& dir, const std::string& name) {
    return make_entry(fs, view, node_of(existing_link(group, dir.path, name), dir.address, dir.path));
}

}  // namespace

void check_new_name(const char* name) {
    if (std::strlen(name) > kNameMax)
        throw Error(ENAMETOOLONG, std::string(name).substr(0, 32) + "...: a name longer than " +
                                      std::to_string(kNameMax) + " bytes");
}

void mkdir(fuse_req_t req, fuse_ino_t parent, const char* name, mode_t) {
    check_new_name(name);
    Filesystem& fs = filesystem_of(req);
    auto entry = locked(fs, Access::exclusive_names(), [&](View& view, const lock::Hold&) {
        Node dir = directory_node(fs, parent);
        h5::Id group = h5::open_object(view.file.id(), dir.path, dir.address);
        h5::create_group(group.get(), name);
        return entry_of(fs, view, group.get(), dir, name);
    });
    reply::entry(req, &entry);
}

void mknod(fuse_req_t req, fuse_ino_t parent, const char* name, mode_t mode, dev_t) {
    check_new_name(name);
    Filesystem& fs = filesystem_of(req);
    if (!S_ISREG(mode)) throw Error(EPERM, std::string(name) + ": no devices, fifos or sockets in an HDF5 file");
    auto entry = locked(fs, Access::exclusive_names(), [&](View& view, const lock::Hold&) {
        return make_entry(fs, view, create_dataset_node(fs, view, parent, name));
    });
    reply::entry(req, &entry);
}

void unlink(fuse_req_t req, fuse_ino_t parent, const char* name) {
    Filesystem& fs = filesystem_of(req);
    locked(fs, Access::exclusive_names(), [&](View& view, const lock::Hold& hold) {
        Node dir = directory_node(fs, parent);
        h5::Id group = h5::open_object(view.file.id(), dir.path, dir.address);
        h5::Link link = existing_link(group.get(), dir.path, name);
        if (link.kind == h5::Kind::Group) throw Error(EISDIR, child_path(dir.path, name) + ": is a group");
        fs.changes.touch(hold.generation(), link.address);  // its readers may lose the object
        h5::remove_link(group.get(), name);
    });
    reply::err(req, 0);
}

void rmdir(fuse_req_t req, fuse_ino_t parent, const char* name) {
    Filesystem& fs = filesystem_of(req);
    locked(fs, Access::exclusive_names(), [&](View& view, const lock::Hold&) {
        Node dir = directory_node(fs, parent);
        h5::Id group = h5::open_object(view.file.id(), dir.path, dir.address);
        h5::Link link = existing_link(group.get(), dir.path, name);
        if (link.kind != h5::Kind::Group) throw Error(ENOTDIR, child_path(dir.path, name) + ": not a group");
        h5::Id child = h5::open_object(view.file.id(), link.address);
        if (!h5::group_is_empty(child.get())) throw Error(ENOTEMPTY, child_path(dir.path, name) + ": not empty");
        h5::remove_link(group.get(), name);
    });
    reply::err(req, 0);
}

void rename(fuse_req_t req, fuse_ino_t parent, const char* name, fuse_ino_t new_parent, const char* new_name,
            unsigned flags) {
    Filesystem& fs = filesystem_of(req);
    if (flags & RENAME_EXCHANGE) throw Error(EINVAL, std::string(name) + ": renames that exchange are not supported");
    if (flags & ~RENAME_NOREPLACE) throw Error(EINVAL, std::string(name) + ": rename flags not supported (whiteout)");
    check_new_name(new_name);
    locked(fs, Access::exclusive_names(), [&](View& view, const lock::Hold& hold) {
        Node from_dir = directory_node(fs, parent), to_dir = directory_node(fs, new_parent);
        h5::Id from = h5::open_object(view.file.id(), from_dir.path, from_dir.address);
        h5::Id to = h5::open_object(view.file.id(), to_dir.path, to_dir.address);
        h5::Link moving = existing_link(from.get(), from_dir.path, name);
        const std::string target_path = child_path(to_dir.path, new_name);
        if (moving.kind == h5::Kind::Group && (target_path + "/").starts_with(child_path(from_dir.path, name) + "/"))
            throw Error(EINVAL, target_path + ": a group cannot move into itself");
        if (auto existing = h5::find_link(to.get(), new_name)) {
            if (flags & RENAME_NOREPLACE) throw Error(EEXIST, target_path + ": exists");
            if (existing->address == moving.address && moving.kind != h5::Kind::SoftLink &&
                moving.kind != h5::Kind::ExternalLink)
                return;  // both names are links to one object: POSIX does nothing
            const bool target_is_group = existing->kind == h5::Kind::Group;
            if (moving.kind == h5::Kind::Group && !target_is_group) throw Error(ENOTDIR, target_path + ": not a group");
            if (moving.kind != h5::Kind::Group && target_is_group) throw Error(EISDIR, target_path + ": is a group");
            if (target_is_group) {
                h5::Id target = h5::open_object(view.file.id(), existing->address);
                if (!h5::group_is_empty(target.get())) throw Error(ENOTEMPTY, target_path + ": not empty");
            }
            fs.changes.touch(hold.generation(), existing->address);  // replaced
        }
        h5::move_link(from.get(), name, to.get(), new_name);
        fs.inodes.move_paths(child_path(from_dir.path, name), target_path, hold.generation());
    });
    reply::err(req, 0);
}

void symlink(fuse_req_t req, const char* target, fuse_ino_t parent, const char* name) {
    check_new_name(name);
    Filesystem& fs = filesystem_of(req);
    auto entry = locked(fs, Access::exclusive_names(), [&](View& view, const lock::Hold&) {
        Node dir = directory_node(fs, parent);
        h5::Id group = h5::open_object(view.file.id(), dir.path, dir.address);
        h5::LinkValue link = h5::link_value_of(target, dir.path == "/" ? "" : dir.path, fs.config.mountpoint);
        if (link.external)
            h5::create_external_link(group.get(), name, link.file, link.path);
        else
            h5::create_soft_link(group.get(), name, link.path);
        return entry_of(fs, view, group.get(), dir, name);
    });
    reply::entry(req, &entry);
}

void link(fuse_req_t req, fuse_ino_t ino, fuse_ino_t new_parent, const char* new_name) {
    check_new_name(new_name);
    Filesystem& fs = filesystem_of(req);
    auto entry = locked(fs, Access::exclusive_names(), [&](View& view, const lock::Hold&) {
        Node node = fs.inodes.get(ino);
        if (node.kind == h5::Kind::Group) throw Error(EPERM, node.path + ": hard links to groups are not made");
        if (is_symlink(node.kind)) throw Error(EPERM, node.path + ": a symbolic link has no object to link to");
        Node dir = directory_node(fs, new_parent);
        h5::Id group = h5::open_object(view.file.id(), dir.path, dir.address);
        h5::Id object = open_node(view, node);
        h5::create_hard_link(object.get(), group.get(), new_name);
        return entry_of(fs, view, group.get(), dir, new_name);
    });
    reply::entry(req, &entry);
}

namespace {

// A truncation to 0 without an open file, from the thread that has just opened `ino` for
// writing and written nothing through it: that open's O_TRUNC (open_truncations.h). The
// open then stages the replacement, exactly as an open with O_TRUNC did.
bool truncates_its_open(Filesystem& fs, fuse_ino_t ino, pid_t thread) {
    if (thread == 0) return false;  // a caller the daemon cannot see (another pid namespace)
    return fs.open_truncations.apply(ino, thread, [&](OpenFile& file) {
        std::lock_guard guard(file.mutex);
        if (!file.staging || file.staging->dirty() || file.staging->failed() || !file.writers.empty()) return false;
        file.staging->replace_from_start();
        return true;
    });
}

}  // namespace

void setattr(fuse_req_t req, fuse_ino_t ino, struct stat* attr, int to_set, fuse_file_info* fi) {
    Filesystem& fs = filesystem_of(req);
    // chmod, chown and utimes are accepted and ignored, so `cp -a` and rsync work.
    if (to_set & FUSE_SET_ATTR_SIZE) {
        const auto size = static_cast<std::uint64_t>(attr->st_size);
        if (fs.config.read_only) throw Error(EROFS, "read-only mount");
        OpenFile* file = open_file_of(fi);
        if (file && file->staging) {
            // ftruncate on a file open for writing: part of what close() commits.
            std::lock_guard guard(file->mutex);
            if (!file->fixed_size) check_growth(file->node.path, file->staging->base_size(), size, file->space);
            file->staging->truncate(size);
        } else if (!file && size == 0 && truncates_its_open(fs, ino, fuse_req_ctx(req)->pid)) {
            // open(O_TRUNC): part of that open, committed at its close
        } else {
            locked(fs, Access::exclusive(), [&](View& view, const lock::Hold& hold) {
                Node node = fs.inodes.get(ino);
                fs.changes.touch(hold.generation(), node.address);
                resize_dataset(view, node, size);
            });
        }
    }
    Attributes answer = attributes_of(fs, ino, fi);
    reply::attr(req, &answer.st, answer.timeout);
}

}  // namespace h5swmrfs::fs::ops

namespace h5swmrfs::fs {

Node create_dataset_node(Filesystem& fs, View& view, fuse_ino_t parent, const std::string& name) {
    Node dir = directory_node(fs, parent);
    h5::Id group = h5::open_object(view.file.id(), dir.path, dir.address);
    if (h5::find_link(group.get(), name)) throw Error(EEXIST, child_path(dir.path, name) + ": exists");
    create_empty_dataset(group.get(), name);
    return node_of(ops::existing_link(group.get(), dir.path, name), dir.address, dir.path);
}

}  // namespace h5swmrfs::fs
