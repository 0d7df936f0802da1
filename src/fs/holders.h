// Which processes still have an open file of the mount open for writing.
//
// FUSE says when a descriptor is closed (flush), not whether it was the last one of its
// open file: a shell duplicates and closes its descriptors around every command it runs.
// Only the process that opened the file and those that wrote through it are looked at —
// never every process of the host, so a close costs the same on a busy host as on an idle
// one. (A process that holds the open file without having opened it or written through
// it — a child that inherited it and only waits, a descriptor passed over a unix socket —
// does not hold a commit back: what it writes later commits at its own close.)
#pragma once

#include <sys/types.h>

#include <set>
#include <string>

namespace h5swmrfs::fs {

// The processes among `opener` and `writers` (this daemon left out) that
// have `path` open for writing. Never throws: a process that exits meanwhile is skipped.
std::set<pid_t> holders_for_writing(const std::string& path, pid_t opener, const std::set<pid_t>& writers) noexcept;

}  // namespace h5swmrfs::fs
