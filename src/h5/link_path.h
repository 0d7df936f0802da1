// Symbolic link text ↔ HDF5 link values (SPEC §2), the path arithmetic alone: what
// readlink shows for a soft or external link, and which link a symlink(2) target makes.
#pragma once

#include <string>

namespace h5swmrfs::h5 {

// The soft link target `target` (absolute HDF5 path) seen from a directory `depth` levels
// below the root: "/a/b" from depth 2 is "../../a/b", so it resolves inside the mount.
std::string relative_target(const std::string& target, unsigned depth);

// What an external link to `path` in `file` shows: FILE::PATH.
std::string external_target(const std::string& file, const std::string& path);

// The HDF5 link a symlink target makes.
struct LinkValue {
    bool external = false;
    std::string file;  // external links only
    std::string path;  // soft links: an HDF5 path, absolute or relative to the link's group
};

// "FILE::/PATH" is an external link; a target inside the mount becomes the soft link it
// names: an absolute one under `mountpoint`, or a relative one with "." or ".." resolved
// against `directory` (the HDF5 path of the link's group, "" for the root), since HDF5
// paths have no ".."; a plain relative one stays relative, as HDF5 resolves it against the
// link's group as POSIX does. Anything outside the mount cannot be stored: Error(EINVAL).
LinkValue link_value_of(const std::string& target, const std::string& directory, const std::string& mountpoint);

}  // namespace h5swmrfs::h5
