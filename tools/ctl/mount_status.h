// `h5swmrfs-ctl status MOUNTPOINT`: whether a mount answers, what it serves, its holds.
//
// Nothing here looks into the mount but one statfs(2), made in a child process that is
// killed when it has no answer in time: a stopped or hung daemon would leave any process
// that touches the mount waiting with it.
#pragma once

#include <chrono>
#include <optional>
#include <string>

#include "lock/admin.h"
#include "util/mounts.h"

namespace h5swmrfs::ctl {

// Exit statuses of `status MOUNTPOINT` (besides 0, 69 and 1 as for every command).
constexpr int exit_not_a_mount = 2;   // no h5swmrfs mount has that mount point
constexpr int exit_no_answer = 3;     // the mount did not answer in time (daemon stopped or hung)
constexpr int exit_daemon_gone = 4;   // the mount is there but its daemon exited (ENOTCONN)

// What `path` is among the mounts, decided without looking into any FUSE mount.
struct MountLookup {
    enum class Kind {
        Mount,        // the mount point of an h5swmrfs mount: `mount`
        Inside,       // a path inside the h5swmrfs mount `mount`, not its mount point
        OtherMount,   // the mount point of a mount of another type: `mount`
        Directory,    // a directory that is no mount point
        Other,        // anything else, or nothing: a KEY or FILE
    } kind = Kind::Other;
    util::MountEntry mount;
};
MountLookup look_up_mount(const std::string& path);

// What one statfs(2) of the mount point said.
struct Answer {
    enum class State { Answers, Silent, Gone, Failed } state = State::Silent;
    int error = 0;       // Failed: the errno
    double seconds = 0;  // until the answer, or the time waited for one
};
Answer ask_mount(const std::string& mount_point, std::chrono::milliseconds timeout);

struct MountStatus {
    util::MountEntry mount;
    Answer answer;
    std::chrono::milliseconds timeout{0};
    std::optional<lock::LockStatus> lock;  // with only this mount's holds and waits; none when unreadable
    std::size_t other_holders = 0, other_waiting = 0, other_drops = 0;
    std::string lock_error;                // why it could not be read
};

// Keeps the participants of `status` that belong to the mount at `mount_point` (redis:
// its holder label; local: a command line that names it), and counts the others.
void keep_mount_participants(MountStatus& status, lock::LockStatus all, const std::string& backend);

std::string mount_status_text(const MountStatus& status);
std::string mount_status_json(const MountStatus& status);
// The exit status that tells a script what it found.
int mount_exit_status(const MountStatus& status);

}  // namespace h5swmrfs::ctl
