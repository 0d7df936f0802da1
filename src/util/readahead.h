// The kernel's read-ahead for a mount's files: how far past a sequential reader the page
// cache asks for pages (/sys/class/bdi/MAJ:MIN/read_ahead_kb, one per mount).
#pragma once

#include <sys/types.h>

#include <string>

namespace h5swmrfs::util {

// The setting of the mount whose files have st_dev `device`.
std::string readahead_path(dev_t device);

// Sets it to `kib` KiB (root only). Throws Error with errno when it cannot.
void set_readahead(dev_t device, unsigned kib);

}  // namespace h5swmrfs::util
