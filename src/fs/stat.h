// What the kernel is told about a node: mode, size, times, link count.
#pragma once

#include <sys/stat.h>

#include "fs/filesystem.h"

namespace h5swmrfs::fs {

// The attributes of `node` (inode `ino`) as of `view`'s generation; cached there.
struct stat stat_of(View& view, const Config& config, fuse_ino_t ino, const Node& node);

// The node of directory `ino`; ENOTDIR when it is not a group.
Node directory_node(Filesystem& fs, fuse_ino_t ino);

// Opens the object `node` stands for, making sure it still is that object: the address
// is trusted in the generation the node was found in; later, `node.path` must still lead
// to it (another mount may have deleted it and HDF5 reused its place). ESTALE otherwise.
h5::Id open_node(View& view, const Node& node);
// The same, for a change that must reach the object wherever it lives now (a commit: a
// writer's bytes go to the object it opened): when another mount renamed it or a group
// above it, `node` takes the path and directory found by its address. ESTALE when no
// link leads to it any more.
h5::Id follow_node(View& view, Node& node);
// The group that holds `node` (a symlink's directory), found the same way.
h5::Id open_parent(View& view, const Node& node);

// What getattr/setattr answer for `ino`, under a shared hold (the pin of the open file
// behind `fi` when there is one): the committed attributes, also to a writer (its staged
// size is no one else's, and the kernel keeps one size for every process of the mount),
// and for how long the kernel may keep them.
struct Attributes {
    struct stat st;
    double timeout;
};
Attributes attributes_of(Filesystem& fs, fuse_ino_t ino, fuse_file_info* fi);

// Fills the entry reply for a name and records it in the inode table. `found_now`: the
// node was found under `view` (else, as in an older listing, its path is checked again:
// ESTALE when it no longer leads to the object).
fuse_entry_param make_entry(Filesystem& fs, View& view, const Node& node, bool found_now = true);

// Makes an empty dataset `name` in directory `parent`; its node. EEXIST when the name is
// taken: the kernel asks only after its lookup found nothing, but another mount may have
// been quicker.
Node create_dataset_node(Filesystem& fs, View& view, fuse_ino_t parent, const std::string& name);

// The node a link of `directory` (itself at `directory_path`) stands for.
Node node_of(const h5::Link& link, haddr_t directory, const std::string& directory_path);

}  // namespace h5swmrfs::fs
