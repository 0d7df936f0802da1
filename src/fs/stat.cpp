#include "fs/stat.h"

#include <unistd.h>

#include "fs/locked.h"
#include "fs/open_file.h"
#include "h5/dataset.h"
#include "util/error.h"
#include "util/log.h"

namespace h5swmrfs::fs {
namespace {

constexpr blksize_t kPreferredIoSize = 1 << 20;  // cp and friends size their buffers by st_blksize

void set_times(struct stat& st, std::time_t mtime, const struct stat& file_stat) {
    if (mtime == 0) {
        st.st_mtim = file_stat.st_mtim;
        st.st_ctim = file_stat.st_ctim;
        st.st_atim = file_stat.st_atim;
    } else {
        st.st_mtim = st.st_ctim = st.st_atim = timespec{mtime, 0};
    }
}

}  // namespace

Node directory_node(Filesystem& fs, fuse_ino_t ino) {
    Node node = fs.inodes.get(ino);
    if (node.kind != h5::Kind::Group) throw Error(ENOTDIR, node.path + ": not a group");
    return node;
}

h5::Id open_node(View& view, const Node& node) {
    if (node.path == "/" || node.seen == view.generation) return h5::open_object(view.file.id(), node.address);
    return h5::open_object(view.file.id(), node.path, node.address);
}

h5::Id follow_node(View& view, Node& node) {
    auto found = h5::locate_object(view.file.id(), node.address, node.kind, node.path);
    if (!found) throw Error(ESTALE, node.path + ": no longer in the file (deleted or replaced meanwhile)");
    if (found->path != node.path) log::info(node.path, ": moved meanwhile; following it to ", found->path);
    node.path = found->path;
    node.directory = found->parent;
    node.seen = view.generation;
    return h5::open_object(view.file.id(), node.path, node.address);
}

h5::Id open_parent(View& view, const Node& node) {
    if (node.seen == view.generation) return h5::open_object(view.file.id(), node.directory);
    return h5::open_object(view.file.id(), parent_path(node.path), node.directory);
}

namespace {

struct stat compute(View& view, const Config& config, fuse_ino_t ino, const Node& node) {
    struct stat st {};
    st.st_ino = ino;
    st.st_uid = getuid();
    st.st_gid = getgid();
    st.st_blksize = kPreferredIoSize;
    st.st_nlink = 1;
    const mode_t writable = config.read_only ? 0 : 0200;

    if (is_symlink(node.kind)) {
        h5::Id directory = open_parent(view, node);
        st.st_mode = S_IFLNK | 0777;
        st.st_size = static_cast<off_t>(
            h5::link_target(directory.get(), base_name(node.path), depth_of(parent_path(node.path))).size());
        set_times(st, 0, view.file_stat);
        return st;
    }

    h5::Id object = open_node(view, node);
    h5::ObjectInfo info = h5::object_info(object.get());
    set_times(st, info.mtime, view.file_stat);
    switch (info.kind) {
        case h5::Kind::Group:
            // 1 tells find(1) and friends the count of subdirectories is unknown.
            st.st_mode = S_IFDIR | 0555 | writable;
            break;
        case h5::Kind::Dataset: {
            h5::DatasetReader reader(std::move(object));
            st.st_mode = S_IFREG | 0444 | writable;
            st.st_nlink = info.hard_links;
            st.st_size = static_cast<off_t>(reader.size());
            st.st_blocks = static_cast<blkcnt_t>((reader.storage_size() + 511) / 512);
            break;
        }
        default:  // named datatypes and other objects: listed, read-only, empty
            st.st_mode = S_IFREG | 0444;
            st.st_nlink = info.hard_links;
            break;
    }
    return st;
}

}  // namespace

struct stat stat_of(View& view, const Config& config, fuse_ino_t ino, const Node& node) {
    {
        std::lock_guard guard(view.stat_mutex);
        if (auto it = view.stats.find(ino); it != view.stats.end()) return it->second;
    }
    struct stat st = compute(view, config, ino, node);
    std::lock_guard guard(view.stat_mutex);
    view.stats[ino] = st;
    return st;
}

Node node_of(const h5::Link& link, haddr_t directory, const std::string& directory_path) {
    return Node{link.kind, link.address, directory, child_path(directory_path, link.name)};
}

Attributes attributes_of(Filesystem& fs, fuse_ino_t ino, fuse_file_info* fi) {
    OpenFile* file = open_file_of(fi);  // fstat(2) of an open file, ftruncate(2)
    return locked(fs, Access::pin_of(ino, file), [&](View& view, const lock::Hold&) {
        // The committed attributes, even to a writer's fstat(2): the kernel keeps one size
        // per file for every process of this mount, and staged bytes are no one else's.
        return Attributes{stat_of(view, fs.config, ino, fs.inodes.get(ino)), fs.cache.attributes(ino)};
    });
}

fuse_entry_param make_entry(Filesystem& fs, View& view, const Node& found, bool found_now) {
    fuse_entry_param entry{};
    Node node = found;
    if (found_now) node.seen = view.generation;
    fuse_ino_t ino = fs.inodes.remember(node);
    try {
        entry.attr = stat_of(view, fs.config, ino, node);
    } catch (...) {
        fs.inodes.forget(ino, 1);  // a failed lookup leaves no count behind
        throw;
    }
    entry.ino = ino;
    entry.generation = 0;
    // Kept by the kernel only when the request's caller says so (KernelCache::entry).
    entry.attr_timeout = 0;
    entry.entry_timeout = 0;
    return entry;
}

}  // namespace h5swmrfs::fs
