// Inode numbers and what they stand for.
//
// An object's inode number is derived from its object header address, so hard
// links share one and it is stable for the mount's life; the root is always 1.
// Symbolic links (soft and external) are links, not objects: their numbers
// (top bit set) are a hash of (directory address, name), so readdir can give
// them without a table; a collision is resolved by probing when remembered.
#pragma once

#include "fs/fuse.h"

#include <cstdint>
#include <mutex>
#include <optional>
#include <string>
#include <unordered_map>
#include <utility>

#include "h5/tree.h"

namespace h5swmrfs::fs {

bool is_symlink(h5::Kind kind);
// The last component of a path.
std::string base_name(const std::string& path);
std::string parent_path(const std::string& path);

struct Node {
    h5::Kind kind = h5::Kind::Other;
    haddr_t address = HADDR_UNDEF;  // objects: header address
    haddr_t directory = HADDR_UNDEF;  // symlinks: address of the group that holds the link
    std::string path;                // where the kernel last found it ("/a/b"); symlinks: the link's path
    std::uint64_t seen = 0;          // the generation in which `path` led to `address`
};

class InodeTable {
public:
    void set_root(haddr_t root_address);
    fuse_ino_t ino_of_object(haddr_t address) const;
    static fuse_ino_t ino_of_link(haddr_t directory, const std::string& name);
    // The number readdir shows for `node` (a lookup may settle on another for a colliding symlink).
    fuse_ino_t ino_of(const Node& node) const;

    // Records that the kernel now knows `node` once more (a lookup, a readdirplus entry).
    fuse_ino_t remember(const Node& node);
    void forget(fuse_ino_t ino, std::uint64_t count);
    // What `ino` stands for; ESTALE (thrown) if this mount never gave it out or forgot it.
    Node get(fuse_ino_t ino) const;
    // A change of this mount moved `from` (and everything below it) to `to`, in `generation`.
    void move_paths(const std::string& from, const std::string& to, std::uint64_t generation);

private:
    struct Entry {
        Node node;
        std::uint64_t lookups = 0;
    };
    static constexpr fuse_ino_t kLinkBit = fuse_ino_t{1} << 63;

    mutable std::mutex mutex_;
    haddr_t root_address_ = HADDR_UNDEF;
    std::unordered_map<fuse_ino_t, Entry> entries_;
};

// Depth of a path below the root: "/" → 0, "/a" → 1, "/a/b" → 2.
unsigned depth_of(const std::string& path);
std::string child_path(const std::string& directory, const std::string& name);

}  // namespace h5swmrfs::fs
