// Which processes still have an open file of the mount open for writing.
//
// FUSE says when a descriptor is closed (flush), not whether it was the last one of its
// open file: a shell duplicates and closes its descriptors around every command it runs.
// A close defers its commit to another process that wrote through the same open file and
// still has it; only those processes are looked at — never every process of the host, so
// a close costs the same on a busy host as on an idle one.
#pragma once

#include <sys/types.h>

#include <set>

namespace h5swmrfs::fs {

// The processes among `writers` (this daemon left out) that have inode `ino` of the
// mount `mount_id` open for writing. Never throws: a process that exits meanwhile is skipped.
std::set<pid_t> holders_for_writing(long long mount_id, ino_t ino, const std::set<pid_t>& writers) noexcept;

}  // namespace h5swmrfs::fs
