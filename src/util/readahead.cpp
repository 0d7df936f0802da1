#include "util/readahead.h"

#include <fcntl.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <cerrno>

#include "util/error.h"

namespace h5swmrfs::util {

std::string readahead_path(dev_t device) {
    return "/sys/class/bdi/" + std::to_string(major(device)) + ":" + std::to_string(minor(device)) +
           "/read_ahead_kb";
}

void set_readahead(dev_t device, unsigned kib) {
    const std::string path = readahead_path(device);
    const int fd = ::open(path.c_str(), O_WRONLY | O_CLOEXEC);
    if (fd < 0) throw Error(errno, "cannot open " + path);
    const std::string text = std::to_string(kib);
    const bool written = ::write(fd, text.data(), text.size()) == static_cast<ssize_t>(text.size());
    const int error = errno;
    ::close(fd);
    if (!written) throw Error(error, "cannot write " + path);
}

}  // namespace h5swmrfs::util
