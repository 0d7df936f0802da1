#include "fs/space.h"

#include <sys/statvfs.h>

#include <limits>

#include "util/error.h"
#include "util/file_io.h"

namespace h5swmrfs::fs {

std::uint64_t free_bytes(const std::string& file) {
    struct statvfs st {};
    if (::statvfs(util::directory_of(file).c_str(), &st) != 0) return std::numeric_limits<std::uint64_t>::max() / 2;
    return static_cast<std::uint64_t>(st.f_bavail) * st.f_frsize;
}

void check_space(const std::string& file, std::uint64_t needed) {
    constexpr std::uint64_t kSlack = 1 << 20;  // HDF5 metadata that comes with any change
    const std::uint64_t available = free_bytes(file);
    if (needed + kSlack > available)
        throw Error(ENOSPC, "the change needs about " + std::to_string(needed + kSlack) + " bytes, the disk has " +
                                std::to_string(available));
}

void check_growth(const std::string& what, std::uint64_t current, std::uint64_t size, std::uint64_t free) {
    if (size > current && size - current > free)
        throw Error(EFBIG, what + ": a size of " + std::to_string(size) + " bytes is past what the disk could hold (" +
                               std::to_string(current) + " now, " + std::to_string(free) + " free)");
}

}  // namespace h5swmrfs::fs
