// Operations on names: lookup, attributes, directories, symlinks, statfs.
#include <sys/statvfs.h>

#include <cstring>
#include <vector>

#include "fs/open_file.h"
#include "fs/ops.h"
#include "fs/stat.h"
#include "util/error.h"
#include "util/file_io.h"

namespace h5swmrfs::fs::ops {
namespace {

// A directory as it was at opendir: readdir offsets stay valid however the
// group changes meanwhile. Index 0 is ".", 1 is "..", links follow.
struct DirHandle : Handle {
    static constexpr Kind kKind = Kind::Directory;
    DirHandle() : Handle(kKind) {}

    Node directory;
    std::vector<Node> entries;
    std::uint64_t generation = 0;  // of the view the entries were listed in
};

DirHandle* dir_handle(fuse_file_info* fi) { return Handles::get<DirHandle>(fi->fh); }

mode_t type_bits(h5::Kind kind) {
    switch (kind) {
        case h5::Kind::Group: return S_IFDIR;
        default: return is_symlink(kind) ? S_IFLNK : S_IFREG;
    }
}

// Shared by readdir and readdirplus: fills up to `size` bytes from `offset`.
template <class AddEntry>
std::vector<char> fill_directory(const DirHandle& dir, size_t size, off_t offset, AddEntry&& add) {
    std::vector<char> buffer(size);
    size_t used = 0;
    const auto total = static_cast<off_t>(dir.entries.size()) + 2;
    for (off_t index = offset; index < total; ++index) {
        size_t added = add(buffer.data() + used, size - used, index, index + 1);
        if (added == 0 || added > size - used) break;
        used += added;
    }
    buffer.resize(used);
    return buffer;
}

}  // namespace

void lookup(fuse_req_t req, fuse_ino_t parent, const char* name) {
    Filesystem& fs = filesystem_of(req);
    auto entry = locked(fs, Access::shared(), [&](View& view, const lock::Hold&) {
        Node dir = directory_node(fs, parent);
        h5::Id group = open_node(view, dir);
        auto link = h5::find_link(group.get(), name);
        if (!link) {
            // A name that does not exist is kept by the kernel as long as the rest.
            fuse_entry_param none{};
            fs.cache.entry(none, parent, name);
            if (none.entry_timeout == 0) throw Error(ENOENT, child_path(dir.path, name) + ": no such name");
            return none;
        }
        fuse_entry_param found = make_entry(fs, view, node_of(*link, dir.address, dir.path));
        fs.cache.entry(found, parent, name);
        return found;
    });
    reply::entry(req, &entry);
}

void forget(fuse_req_t req, fuse_ino_t ino, uint64_t nlookup) {
    filesystem_of(req).inodes.forget(ino, nlookup);
    reply::none(req);
}

void forget_multi(fuse_req_t req, size_t count, fuse_forget_data* forgets) {
    Filesystem& fs = filesystem_of(req);
    for (size_t i = 0; i < count; ++i) fs.inodes.forget(forgets[i].ino, forgets[i].nlookup);
    reply::none(req);
}

void getattr(fuse_req_t req, fuse_ino_t ino, fuse_file_info* fi) {
    Attributes answer = attributes_of(filesystem_of(req), ino, fi);
    reply::attr(req, &answer.st, answer.timeout);
}

void readlink(fuse_req_t req, fuse_ino_t ino) {
    Filesystem& fs = filesystem_of(req);
    auto target = locked(fs, Access::shared(), [&](View& view, const lock::Hold&) {
        Node node = fs.inodes.get(ino);
        if (!is_symlink(node.kind))
            throw Error(EINVAL, node.path + ": not a symbolic link");
        h5::Id group = open_parent(view, node);
        // (Removed since the kernel found it: as a lookup would say now.)
        if (!h5::find_link(group.get(), base_name(node.path))) throw Error(ENOENT, node.path + ": no such name");
        return h5::link_target(group.get(), base_name(node.path), depth_of(parent_path(node.path)));
    });
    reply::readlink(req, target.c_str());
}

void opendir(fuse_req_t req, fuse_ino_t ino, fuse_file_info* fi) {
    Filesystem& fs = filesystem_of(req);
    auto handle = locked(fs, Access::shared(), [&](View& view, const lock::Hold&) {
        auto dir = std::make_unique<DirHandle>();
        dir->generation = view.generation;
        dir->directory = directory_node(fs, ino);
        h5::Id group = open_node(view, dir->directory);
        for (const h5::Link& link : h5::list_links(group.get()))
            dir->entries.push_back(node_of(link, dir->directory.address, dir->directory.path));
        return dir;
    });
    fi->fh = fs.handles.keep(std::move(handle));
    fi->cache_readdir = 0;
    if (reply::open(req, fi) != 0) fs.handles.drop(fi->fh);
}

void readdir(fuse_req_t req, fuse_ino_t ino, size_t size, off_t offset, fuse_file_info* fi) {
    const DirHandle& dir = *dir_handle(fi);
    Filesystem& fs = filesystem_of(req);
    std::vector<char> buffer = fill_directory(dir, size, offset, [&](char* at, size_t room, off_t index, off_t next) {
        struct stat st {};
        const char* name;
        if (index < 2) {
            st.st_ino = ino;
            st.st_mode = S_IFDIR;
            name = index == 0 ? "." : "..";
        } else {
            const Node& node = dir.entries[static_cast<size_t>(index - 2)];
            st.st_ino = fs.inodes.ino_of(node);
            st.st_mode = type_bits(node.kind);
            name = node.path.c_str() + node.path.rfind('/') + 1;
        }
        return fuse_add_direntry(req, at, room, name, &st, next);
    });
    reply::buf(req, buffer.data(), buffer.size());
}

void readdirplus(fuse_req_t req, fuse_ino_t ino, size_t size, off_t offset, fuse_file_info* fi) {
    const DirHandle& dir = *dir_handle(fi);
    Filesystem& fs = filesystem_of(req);
    auto buffer = locked(fs, Access::shared(), [&](View& view, const lock::Hold&) {
        return fill_directory(dir, size, offset, [&](char* at, size_t room, off_t index, off_t next) -> size_t {
            if (index < 2) {
                // The kernel makes no dentry for "." and "..": no lookup count.
                fuse_entry_param entry{};
                entry.attr.st_ino = ino;
                entry.attr.st_mode = S_IFDIR;
                return fuse_add_direntry_plus(req, at, room, index == 0 ? "." : "..", &entry, next);
            }
            const Node& node = dir.entries[static_cast<size_t>(index - 2)];
            const char* name = node.path.c_str() + node.path.rfind('/') + 1;
            fuse_entry_param probe{};
            if (fuse_add_direntry_plus(req, nullptr, 0, name, &probe, next) > room) return 0;
            // A listing made before the generation moved names what was there then: each
            // name is checked again, and one that no longer leads to its object is listed
            // without an entry (ino 0: the kernel makes no name of it).
            fuse_entry_param entry{};
            try {
                entry = make_entry(fs, view, node, dir.generation == view.generation);
                fs.cache.entry(entry, ino, name);
            } catch (const Error& e) {
                if (e.code() != ESTALE && e.code() != ENOENT) throw;
                entry = fuse_entry_param{};
                entry.attr.st_ino = fs.inodes.ino_of(node);
                entry.attr.st_mode = type_bits(node.kind);
            }
            return fuse_add_direntry_plus(req, at, room, name, &entry, next);
        });
    });
    reply::buf(req, buffer.data(), buffer.size());
}

void releasedir(fuse_req_t req, fuse_ino_t, fuse_file_info* fi) {
    filesystem_of(req).handles.drop(fi->fh);
    reply::err(req, 0);
}

void statfs(fuse_req_t req, fuse_ino_t) {
    Filesystem& fs = filesystem_of(req);
    struct statvfs st {};
    if (::statvfs(util::directory_of(fs.config.file).c_str(), &st) != 0) {
        const int err = errno;
        throw Error(err, fs.config.file + ": cannot statvfs its directory");
    }
    st.f_namemax = kNameMax;
    reply::statfs(req, &st);
}

}  // namespace h5swmrfs::fs::ops
