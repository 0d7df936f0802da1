// libfuse's low-level API, at the one version this filesystem is written for.
#pragma once

#define FUSE_USE_VERSION 35
#include <fuse_lowlevel.h>

namespace h5swmrfs::fs {

// The largest read request the kernel sends (mount option max_read, and init's): half a
// MiB, so that an answer and its header fit the 1 MiB pipe libfuse splices it through
// (/proc/sys/fs/pipe-max-size; a larger pipe needs CAP_SYS_RESOURCE, which a root in a
// container may lack; 1 MiB less four pages fits too, but cuts most chunks in two).
inline constexpr unsigned kMaxRead = 1u << 19;

}  // namespace h5swmrfs::fs
