// Mounting: the FUSE session around a Filesystem, from mount to unmount.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "fs/config.h"
#include "lock/lock.h"

namespace h5swmrfs::fs {

// How the FUSE session runs.
struct Session {
    std::vector<std::string> fuse_options;  // -o, given by the user, after the built-in ones
    bool debug = false;                      // libfuse's -d
    bool foreground = false;                 // else daemonise, and log to syslog
    bool single_thread = false;
    bool auto_unmount = false;               // libfuse's: the kernel unmounts when this process dies
    std::string lock_description;            // for the "mounted" log line
    // Starts serving --metrics (its threads): called after daemonising, like the LockMaker.
    std::function<void()> serve_metrics;
};

// Builds the lock. It is called after daemonising: the lock's threads would not
// survive the fork.
using LockMaker = std::function<std::unique_ptr<lock::Lock>()>;

// Mounts config.file on config.mountpoint and serves it until it is unmounted (or a
// SIGTERM, SIGINT, SIGHUP). Returns the exit status: 0 after a clean unmount. Throws
// when it cannot mount.
int mount(const Config& config, const Session& session, const LockMaker& make_lock);

// Throws Error(EINVAL) with libfuse's one line when it would refuse the FUSE options of
// `session` (an unknown option, a bad value), before anything is mounted.
void check_fuse_options(const Config& config, const Session& session);

// The version of libfuse this program runs with.
std::string fuse_version();

}  // namespace h5swmrfs::fs
