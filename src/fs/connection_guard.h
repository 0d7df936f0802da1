// A process beside the daemon that aborts the mount's FUSE connection when the daemon
// dies but cannot end.
//
// Telling the kernel to forget what it caches (kernel_cache.h) waits for page and
// directory locks. A request that holds one waits for this daemon's answer. When the
// daemon is killed (SIGKILL, an OOM kill) while one of its threads waits so, that thread
// cannot end, so the process keeps its /dev/fuse descriptor open, so the kernel never
// fails the request whose answer the thread waits for: the mount and every process that
// touches it hang for ever. The guard sees the daemon's main thread end without a word
// (PR_SET_PDEATHSIG), gives the process a moment to end, and when it does not, aborts the
// connection (/sys/fs/fuse/connections/N/abort): the waiting requests fail, the thread
// goes on, the daemon ends. A clean unmount tells the guard to go first.
#pragma once

#include <sys/types.h>

#include <string>

namespace h5swmrfs::fs {

class ConnectionGuard {
public:
    // Forks the guard of the FUSE mount whose files have st_dev `device`. Call it while
    // the daemon has one thread (the child does more than async-signal-safe calls).
    // Throws Error when it cannot fork.
    ConnectionGuard(dev_t device, std::string mountpoint);
    // Tells the guard the daemon ends cleanly, and waits for it.
    ~ConnectionGuard();
    ConnectionGuard(const ConnectionGuard&) = delete;
    ConnectionGuard& operator=(const ConnectionGuard&) = delete;

private:
    pid_t pid_ = -1;
    int to_guard_ = -1;  // closed (or "bye") when the daemon ends cleanly
};

}  // namespace h5swmrfs::fs
