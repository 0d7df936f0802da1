// What /proc tells of processes. A process may exit at any moment of a walk: each
// function then answers as if it had never been there, and never throws for it.
#pragma once

#include <sys/types.h>

#include <filesystem>
#include <string>
#include <vector>

namespace h5swmrfs::util {

// The entries of a directory; empty when it is gone or unreadable.
std::vector<std::filesystem::path> entries_of(const std::filesystem::path& directory);

// Every process now running (thread groups, not threads).
std::vector<pid_t> all_processes();

// The parent of `pid`; 0 when it is gone.
pid_t parent_of(pid_t pid);

// The process (thread group) of thread `thread`; 0 when it is gone.
pid_t process_of_thread(pid_t thread);

// The signal that thread `thread` is dying of (it is exiting, as a process killed by it
// does: SIGKILL, SIGTERM, SIGINT's default action...), else 0 (running, exiting by exit(3),
// or gone).
int fatal_signal_of(pid_t thread);

// Whether process `pid` has the file `ino` of mount `mount_id` (mountinfo's first field,
// statx's stx_mnt_id) open for writing (O_WRONLY or O_RDWR). Told from /proc/PID/fdinfo
// alone: looking at the file itself (stat, its path, which reads "... (deleted)" once its
// name was forgotten) would ask its filesystem, which may be the caller.
bool has_open_for_writing(pid_t pid, long long mount_id, ino_t ino);

// Whether process `pid` has the file `ino` of device `device` mapped into its memory (mmap).
bool has_mapped(pid_t pid, dev_t device, ino_t ino);

}  // namespace h5swmrfs::util
