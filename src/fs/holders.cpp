#include "fs/holders.h"

#include <fcntl.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <vector>

namespace h5swmrfs::fs {
namespace {

namespace fsys = std::filesystem;

// The entries of a /proc directory; empty when it is gone. Iterated with error codes only:
// a process may exit at any moment of the walk.
std::vector<fsys::path> entries_of(const fsys::path& directory) {
    std::vector<fsys::path> found;
    std::error_code ec;
    fsys::directory_iterator it(directory, ec), end;
    while (!ec && it != end) {
        found.push_back(it->path());
        it.increment(ec);
    }
    return found;
}

bool has_open_for_writing(pid_t pid, const std::string& path) {
    const fsys::path process = fsys::path("/proc") / std::to_string(pid);
    for (const fsys::path& fd : entries_of(process / "fd")) {
        std::error_code ec;
        if (fsys::read_symlink(fd, ec) != path || ec) continue;
        std::ifstream info(process / "fdinfo" / fd.filename());
        std::string line;
        while (std::getline(info, line)) {
            if (!line.starts_with("flags:")) continue;
            const long flags = std::strtol(line.c_str() + 6, nullptr, 8);
            if ((flags & O_ACCMODE) != O_RDONLY) return true;
        }
    }
    return false;
}

}  // namespace

std::set<pid_t> holders_for_writing(const std::string& path, const std::set<pid_t>& writers) noexcept {
    std::set<pid_t> found;
    try {
        std::set<pid_t> candidates(writers.begin(), writers.end());
        candidates.erase(::getpid());
        candidates.erase(0);
        for (pid_t pid : candidates)
            if (has_open_for_writing(pid, path)) found.insert(pid);
    } catch (const std::exception&) {
        // out of memory: nobody is known to hold it, so the close commits
    }
    return found;
}

}  // namespace h5swmrfs::fs
