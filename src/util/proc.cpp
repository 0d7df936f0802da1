#include "util/proc.h"

#include <fcntl.h>
#include <sys/sysmacros.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <sstream>

namespace h5swmrfs::util {
namespace {

namespace fsys = std::filesystem;

fsys::path proc_of(pid_t pid) { return fsys::path("/proc") / std::to_string(pid); }

// The first line of `file` that starts with `key`, without the key; "" when none.
std::string field(const fsys::path& file, const std::string& key) {
    std::ifstream in(file);
    std::string line;
    while (std::getline(in, line))
        if (line.starts_with(key)) return line.substr(key.size());
    return {};
}

}  // namespace

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

std::vector<pid_t> all_processes() {
    std::vector<pid_t> found;
    for (const fsys::path& entry : entries_of("/proc")) {
        const std::string name = entry.filename();
        if (!name.empty() && name.find_first_not_of("0123456789") == std::string::npos)
            found.push_back(static_cast<pid_t>(std::atol(name.c_str())));
    }
    return found;
}

pid_t parent_of(pid_t pid) {
    std::ifstream stat(proc_of(pid) / "stat");
    std::string line;
    if (!std::getline(stat, line)) return 0;
    const auto close = line.rfind(')');  // the command name may hold spaces and parentheses
    if (close == std::string::npos) return 0;
    char state = 0;
    pid_t parent = 0;
    return std::sscanf(line.c_str() + close + 1, " %c %d", &state, &parent) == 2 ? parent : 0;
}

int fatal_signal_of(pid_t thread) {
    constexpr unsigned long kExiting = 0x4;  // PF_EXITING: set before the process's files close
    std::ifstream stat(proc_of(thread) / "stat");
    std::string line;
    if (!std::getline(stat, line)) return 0;
    const auto close = line.rfind(')');
    if (close == std::string::npos) return 0;
    // From field 3 (state) on: flags is field 9, exit_code (as waitpid reports it) field 52.
    std::vector<std::string> fields;
    std::istringstream rest(line.substr(close + 1));
    for (std::string word; rest >> word;) fields.push_back(word);
    if (fields.size() < 50) return 0;
    const unsigned long flags = std::strtoul(fields[6].c_str(), nullptr, 10);
    const long exit_code = std::strtol(fields[49].c_str(), nullptr, 10);
    return (flags & kExiting) ? static_cast<int>(exit_code & 0x7f) : 0;
}

pid_t process_of_thread(pid_t thread) {
    return static_cast<pid_t>(std::atol(field(proc_of(thread) / "status", "Tgid:").c_str()));
}

bool has_open_for_writing(pid_t pid, long long mount_id, ino_t ino) {
    for (const fsys::path& info : entries_of(proc_of(pid) / "fdinfo")) {
        std::ifstream in(info);
        long long mnt = -1, inode = -1;
        long flags = 0;
        for (std::string line; std::getline(in, line);) {
            if (line.starts_with("flags:")) flags = std::strtol(line.c_str() + 6, nullptr, 8);
            else if (line.starts_with("mnt_id:")) mnt = std::strtoll(line.c_str() + 7, nullptr, 10);
            else if (line.starts_with("ino:")) inode = std::strtoll(line.c_str() + 4, nullptr, 10);
        }
        if (mnt == mount_id && inode == static_cast<long long>(ino) && (flags & O_ACCMODE) != O_RDONLY) return true;
    }
    return false;
}

bool has_mapped(pid_t pid, dev_t device, ino_t ino) {
    // ADDRESS PERMS OFFSET MAJOR:MINOR INODE [PATH], device numbers in hex. The path is no
    // help: it reads "... (deleted)" once the kernel forgot the name.
    std::ifstream in(proc_of(pid) / "maps");
    std::string line;
    while (std::getline(in, line)) {
        unsigned major = 0, minor = 0;
        unsigned long long inode = 0;
        if (std::sscanf(line.c_str(), "%*s %*s %*s %x:%x %llu", &major, &minor, &inode) != 3) continue;
        if (inode == ino && makedev(major, minor) == device) return true;
    }
    return false;
}

}  // namespace h5swmrfs::util
