#include "fs/holders.h"

#include <unistd.h>

#include "util/proc.h"

namespace h5swmrfs::fs {

std::set<pid_t> holders_for_writing(long long mount_id, ino_t ino, const std::set<pid_t>& writers) noexcept {
    std::set<pid_t> found;
    try {
        std::set<pid_t> candidates(writers.begin(), writers.end());
        candidates.erase(::getpid());
        candidates.erase(0);
        for (pid_t pid : candidates)
            if (util::has_open_for_writing(pid, mount_id, ino)) found.insert(pid);
    } catch (const std::exception&) {
        // out of memory: nobody is known to hold it, so the close commits
    }
    return found;
}

}  // namespace h5swmrfs::fs
