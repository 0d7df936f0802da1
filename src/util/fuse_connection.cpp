#include "util/fuse_connection.h"

#include <fcntl.h>
#include <sys/mount.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <cerrno>

#include "util/error.h"
#include "util/mounts.h"

namespace h5swmrfs::util {
namespace {

constexpr const char* kControl = "/sys/fs/fuse/connections";

}  // namespace

std::string fuse_abort_path(dev_t device) {
    return std::string(kControl) + "/" + std::to_string(minor(device)) + "/abort";
}

void abort_fuse_connection(dev_t device) {
    const std::string path = fuse_abort_path(device);
    int fd = ::open(path.c_str(), O_WRONLY | O_CLOEXEC);
    if (fd < 0 && errno == ENOENT && !mount_at(kControl)) {
        if (::mount("fusectl", kControl, "fusectl", 0, nullptr) != 0)
            throw Error(errno, std::string("cannot mount the FUSE control filesystem on ") + kControl);
        fd = ::open(path.c_str(), O_WRONLY | O_CLOEXEC);
    }
    if (fd < 0) throw Error(errno, "cannot open " + path);
    const bool written = ::write(fd, "1", 1) == 1;
    const int error = errno;
    ::close(fd);
    if (!written) throw Error(error, "cannot write " + path);
}

}  // namespace h5swmrfs::util
