// The kernel's FUSE control filesystem (/sys/fs/fuse/connections): aborting a mount's
// connection fails every request it has not answered and every one after, as if its
// daemon had ended. It is the one way out for a daemon whose thread waits in the kernel
// for an answer only that daemon could give.
#pragma once

#include <sys/types.h>

#include <string>

namespace h5swmrfs::util {

// The control file that aborts the connection of the FUSE mount whose files have st_dev
// `device` (the connection's number is the device's minor).
std::string fuse_abort_path(dev_t device);

// Aborts it, mounting the control filesystem first if it is not mounted (root only).
// Throws Error with errno when it cannot.
void abort_fuse_connection(dev_t device);

}  // namespace h5swmrfs::util
