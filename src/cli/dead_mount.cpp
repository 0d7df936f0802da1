#include "cli/dead_mount.h"

#include <fcntl.h>
#include <spawn.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/wait.h>

#include <climits>
#include <cstdlib>
#include <cstring>
#include <filesystem>

#include "util/error.h"
#include "util/mounts.h"

extern char** environ;

namespace h5swmrfs::cli {
namespace {

// The absolute path of `mountpoint` as /proc/self/mountinfo spells it. realpath() of
// the mount point itself would fail: resolving it stats the dead mount.
std::string absolute_path(const std::string& mountpoint) {
    std::filesystem::path path = std::filesystem::absolute(mountpoint).lexically_normal();
    if (!path.has_filename()) path = path.parent_path();  // "mnt/" names "mnt"
    char parent[PATH_MAX];
    if (!::realpath(path.parent_path().c_str(), parent)) return path.string();
    return (std::filesystem::path(parent) / path.filename()).string();
}

// The type of the topmost mount on `path` ("fuse.h5swmrfs"), empty when nothing is
// mounted there.
std::string mount_type_at(const std::string& path) {
    const std::optional<util::MountEntry> entry = util::mount_at(path);
    return entry ? entry->type : std::string();
}

int run_fusermount_lazy_unmount(const std::string& path) {
    const char* argv[] = {"fusermount3", "-u", "-z", "--", path.c_str(), nullptr};
    posix_spawn_file_actions_t actions;
    posix_spawn_file_actions_init(&actions);
    // Its own complaint would be a second line: the one line is ours.
    posix_spawn_file_actions_addopen(&actions, 2, "/dev/null", O_WRONLY, 0);
    pid_t pid = 0;
    const int spawned = ::posix_spawnp(&pid, "fusermount3", &actions, nullptr, const_cast<char* const*>(argv), environ);
    posix_spawn_file_actions_destroy(&actions);
    if (spawned != 0) throw Error(spawned, "mount point " + path + ": cannot run fusermount3 to unmount its dead FUSE mount: " + std::strerror(spawned));
    int status = 0;
    while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

}  // namespace

bool is_dead_fuse_mount(const std::string& mountpoint) {
    // statfs always reaches the daemon; stat may be answered from the kernel's cache.
    struct statvfs st {};
    if (::statvfs(mountpoint.c_str(), &st) == 0 || errno != ENOTCONN) return false;
    return mount_type_at(absolute_path(mountpoint)).starts_with("fuse");
}

std::string dead_mount_advice(const std::string& mountpoint) {
    return "mount point " + mountpoint + " is a dead FUSE mount (its daemon is gone); unmount it with 'fusermount3 -u " +
           absolute_path(mountpoint) + "', or mount with -o auto_unmount to do that first";
}

void clear_dead_mount(const std::string& mountpoint) {
    const std::string path = absolute_path(mountpoint);
    const int status = run_fusermount_lazy_unmount(path);
    if (is_dead_fuse_mount(path))
        throw Error(ENOTCONN, "mount point " + path + " is a dead FUSE mount that 'fusermount3 -u -z' could not unmount (status " +
                                  std::to_string(status) + ")");
}

}  // namespace h5swmrfs::cli
