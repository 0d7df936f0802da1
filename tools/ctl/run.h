// `h5swmrfs-ctl run`: the lock around a command, like flock(1).
#pragma once

#include "lock/lock.h"

#include <string>
#include <vector>

namespace h5swmrfs::ctl {

// Call first thing in main, before any thread exists: blocks the signals `run` forwards,
// so that every thread (the lock's renewer too) inherits the blocked mask.
void block_forwarded_signals();

// Takes the lock, runs `command` with stdin/stdout/stderr passed through, forwards signals
// sent to us by other processes, keeps the lock renewed, releases it when the command ends;
// after an exclusive hold, returns once every caching mount dropped what it had read before
// (or the lock timeout passed).
// Returns the exit status for h5swmrfs-ctl: the command's own, or 128+N if signal N
// killed it; 127/126 when it cannot be run; lock failures throw Error. `file`, when known,
// is the HDF5 file: an unfinished commit of it is finished before the command starts.
int run_locked(const lock::Options& options, lock::Mode mode, const std::vector<std::string>& command,
               const std::string& file);

}  // namespace h5swmrfs::ctl
