// A FUSE mount whose daemon is gone: the kernel keeps it, and every access to it
// fails with ENOTCONN ("Transport endpoint is not connected") until it is unmounted.
#pragma once

#include <string>

namespace h5swmrfs::cli {

// Whether `mountpoint` is such a dead FUSE mount.
bool is_dead_fuse_mount(const std::string& mountpoint);

// The line that tells the user what to do about the dead mount on `mountpoint`.
std::string dead_mount_advice(const std::string& mountpoint);

// Unmounts the dead FUSE mount on `mountpoint` lazily (fusermount3 -u -z), so that the
// directory under it shows again. Throws Error with one line when it stays dead.
void clear_dead_mount(const std::string& mountpoint);

}  // namespace h5swmrfs::cli
