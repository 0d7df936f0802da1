#include "fs/inodes.h"

#include <algorithm>

#include "util/error.h"

namespace h5swmrfs::fs {

void InodeTable::set_root(haddr_t root_address) {
    std::lock_guard guard(mutex_);
    root_address_ = root_address;
    Entry& root = entries_[FUSE_ROOT_ID];
    root.node = Node{h5::Kind::Group, root_address, HADDR_UNDEF, "/"};
    root.lookups = 1;  // the kernel never forgets the root
}

fuse_ino_t InodeTable::ino_of_object(haddr_t address) const {
    return address == root_address_ ? FUSE_ROOT_ID : static_cast<fuse_ino_t>(address) + 2;
}

fuse_ino_t InodeTable::ino_of_link(haddr_t directory, const std::string& name) {
    std::uint64_t hash = 14695981039346656037ull;  // FNV-1a
    auto mix = [&](unsigned char byte) { hash = (hash ^ byte) * 1099511628211ull; };
    for (unsigned i = 0; i < sizeof directory; ++i) mix(static_cast<unsigned char>(directory >> (8 * i)));
    for (char c : name) mix(static_cast<unsigned char>(c));
    return kLinkBit | (hash & ~kLinkBit);
}

fuse_ino_t InodeTable::ino_of(const Node& node) const {
    return is_symlink(node.kind) ? ino_of_link(node.directory, base_name(node.path)) : ino_of_object(node.address);
}

fuse_ino_t InodeTable::remember(const Node& node) {
    std::lock_guard guard(mutex_);
    fuse_ino_t ino = ino_of(node);
    if (is_symlink(node.kind)) {
        for (;;) {  // probe past a different link that hashed to the same number
            auto it = entries_.find(ino);
            if (it == entries_.end() ||
                (it->second.node.directory == node.directory && it->second.node.path == node.path))
                break;
            ino = kLinkBit | ((ino + 1) & ~kLinkBit);
        }
    }
    Entry& entry = entries_[ino];
    if (ino != FUSE_ROOT_ID) entry.node = node;  // the root keeps its path "/"
    ++entry.lookups;
    return ino;
}

void InodeTable::forget(fuse_ino_t ino, std::uint64_t count) {
    if (ino == FUSE_ROOT_ID) return;
    std::lock_guard guard(mutex_);
    auto it = entries_.find(ino);
    if (it == entries_.end()) return;
    it->second.lookups -= std::min(count, it->second.lookups);
    if (it->second.lookups == 0) entries_.erase(it);
}

Node InodeTable::get(fuse_ino_t ino) const {
    std::lock_guard guard(mutex_);
    auto it = entries_.find(ino);
    if (it == entries_.end()) throw Error(ESTALE, "unknown inode " + std::to_string(ino));
    return it->second.node;
}

bool is_symlink(h5::Kind kind) { return kind == h5::Kind::SoftLink || kind == h5::Kind::ExternalLink; }

std::string base_name(const std::string& path) { return path.substr(path.rfind('/') + 1); }

std::string parent_path(const std::string& path) {
    std::size_t slash = path.rfind('/');
    return slash == 0 || slash == std::string::npos ? "/" : path.substr(0, slash);
}

void InodeTable::move_paths(const std::string& from, const std::string& to, std::uint64_t generation) {
    std::lock_guard guard(mutex_);
    for (auto& [ino, entry] : entries_) {
        std::string& path = entry.node.path;
        if (path == from || path.starts_with(from + "/")) {
            path = to + path.substr(from.size());
            if (entry.node.seen + 1 == generation) entry.node.seen = generation;  // nothing else changed
        }
    }
}

unsigned depth_of(const std::string& path) {
    return static_cast<unsigned>(std::count(path.begin(), path.end(), '/')) - (path == "/" ? 1 : 0);
}

std::string child_path(const std::string& directory, const std::string& name) {
    return directory == "/" ? "/" + name : directory + "/" + name;
}

}  // namespace h5swmrfs::fs
