#include "util/file_io.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <vector>

#include "util/error.h"
#include "util/fd.h"

namespace h5swmrfs::util {

std::string directory_of(const std::string& file) {
    const auto slash = file.rfind('/');
    return slash == std::string::npos ? "." : slash == 0 ? "/" : file.substr(0, slash);
}

int write_all(int fd, const void* data, std::size_t size, std::uint64_t offset) {
    const auto* p = static_cast<const unsigned char*>(data);
    while (size > 0) {
        ssize_t n = ::pwrite(fd, p, std::min<std::size_t>(size, 1u << 30), static_cast<off_t>(offset));
        if (n < 0) {
            if (errno == EINTR) continue;
            return errno;
        }
        p += n, size -= static_cast<std::size_t>(n), offset += static_cast<std::uint64_t>(n);
    }
    return 0;
}

int read_all(int fd, void* data, std::size_t size, std::uint64_t offset) {
    auto* p = static_cast<unsigned char*>(data);
    while (size > 0) {
        ssize_t n = ::pread(fd, p, std::min<std::size_t>(size, 1u << 30), static_cast<off_t>(offset));
        if (n < 0) {
            if (errno == EINTR) continue;
            return errno;
        }
        if (n == 0) {
            std::memset(p, 0, size);
            return 0;
        }
        p += n, size -= static_cast<std::size_t>(n), offset += static_cast<std::uint64_t>(n);
    }
    return 0;
}

int copy_range(int from, std::uint64_t source, int to, std::uint64_t target, std::uint64_t length) {
    while (length > 0) {
        loff_t in = static_cast<loff_t>(source), out = static_cast<loff_t>(target);
        ssize_t n = ::copy_file_range(from, &in, to, &out, std::min<std::uint64_t>(length, 1u << 30), 0);
        if (n > 0) {
            source += static_cast<std::uint64_t>(n), target += static_cast<std::uint64_t>(n);
            length -= static_cast<std::uint64_t>(n);
            continue;
        }
        if (n < 0 && errno == EINTR) continue;
        if (n == 0 || errno == EXDEV || errno == EINVAL || errno == ENOSYS || errno == EOPNOTSUPP) break;
        return errno;
    }
    std::vector<unsigned char> buffer(std::min<std::uint64_t>(length, 4u << 20));
    while (length > 0) {
        const std::size_t n = std::min<std::uint64_t>(length, buffer.size());
        if (int err = read_all(from, buffer.data(), n, source)) return err;
        if (int err = write_all(to, buffer.data(), n, target)) return err;
        source += n, target += n, length -= n;
    }
    return 0;
}

void sync_data(int fd, const std::string& what) {
    if (::fdatasync(fd) != 0) throw Error(errno, what + ": cannot sync");
}

void sync_directory_of(const std::string& file) {
    const std::string directory = directory_of(file);
    const Fd fd(::open(directory.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    if (!fd) throw Error(errno, directory + ": cannot open to sync it");
    if (::fsync(fd.get()) != 0 && errno != EINVAL) throw Error(errno, directory + ": cannot sync");
}

int open_temporary(const std::string& directory, const std::string& prefix, mode_t mode, std::string& name) {
    name.clear();
    int fd = ::open(directory.c_str(), O_TMPFILE | O_RDWR | O_CLOEXEC, mode);
    if (fd >= 0) return fd;
    std::string name_template = directory + "/" + prefix + "XXXXXX";
    fd = ::mkostemp(name_template.data(), O_CLOEXEC);
    if (fd < 0) return -1;
    ::fchmod(fd, mode);
    name = name_template;
    return fd;
}

}  // namespace h5swmrfs::util
