#include "fs/space.h"

#include <sys/statvfs.h>

#include "util/error.h"
#include "util/file_io.h"

namespace h5swmrfs::fs {

void check_space(const std::string& file, std::uint64_t needed) {
    constexpr std::uint64_t kSlack = 1 << 20;  // HDF5 metadata that comes with any change
    struct statvfs st {};
    if (::statvfs(util::directory_of(file).c_str(), &st) != 0) return;
    const std::uint64_t available = static_cast<std::uint64_t>(st.f_bavail) * st.f_frsize;
    if (needed + kSlack > available)
        throw Error(ENOSPC, "the change needs about " + std::to_string(needed + kSlack) + " bytes, the disk has " +
                                std::to_string(available));
}

}  // namespace h5swmrfs::fs
