// The mounts this process sees, from /proc/self/mountinfo: found without touching the
// mounted paths, which a stopped FUSE daemon would leave hanging.
#pragma once

#include <sys/types.h>

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace h5swmrfs::util {

struct MountEntry {
    std::string mount_point;  // absolute, escapes (\040 ...) decoded
    std::string type;         // "ext4", "fuse.h5swmrfs", ...
    std::string source;       // the device, or a FUSE mount's fsname
    dev_t device = 0;         // st_dev of the files in it
    long long id = -1;        // the mount's id (statx's stx_mnt_id)
};

// The entries of mountinfo text, in its order (a mount stacked on another comes after it).
// Lines it cannot read are left out.
std::vector<MountEntry> parse_mountinfo(std::string_view text);

// This process's mounts now; empty when /proc/self/mountinfo cannot be read.
std::vector<MountEntry> mounts();

// The topmost of this process's mounts on `mount_point` (absolute, normal), if any.
std::optional<MountEntry> mount_at(const std::string& mount_point);

// `path` made absolute (against the working directory) and normal: no ".", "..", empty
// or trailing components. Only text: nothing is looked up, no symbolic link resolved.
std::string lexically_absolute(const std::string& path);

}  // namespace h5swmrfs::util
