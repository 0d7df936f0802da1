// Test builds only: a test makes an operation fail by writing its name to the file named by
// $H5SWMRFS_FAULT_FILE; the next call of that operation throws (once), as any unforeseen
// failure would. Release builds compile none of it.
#include "fs/reply.h"
#include "util/fd.h"

#ifdef H5SWMRFS_FAULT_HOOKS
#include <fcntl.h>
#include <unistd.h>

#include <cstdlib>
#include <mutex>
#include <stdexcept>
#include <string>
#endif

namespace h5swmrfs::fs::reply {

#ifdef H5SWMRFS_FAULT_HOOKS
void fault_point(const char* name) {
    static const char* const path = std::getenv("H5SWMRFS_FAULT_FILE");
    if (!path) return;
    static std::mutex mutex;
    std::lock_guard guard(mutex);
    const util::Fd fd(::open(path, O_RDWR | O_CLOEXEC));
    if (!fd) return;
    char text[64] = {};
    const ssize_t n = ::pread(fd.get(), text, sizeof text - 1, 0);
    std::string wanted(text, n > 0 ? static_cast<std::size_t>(n) : 0);
    while (!wanted.empty() && (wanted.back() == '\n' || wanted.back() == ' ')) wanted.pop_back();
    if (wanted == name && ::ftruncate(fd.get(), 0) == 0)
        throw std::runtime_error(std::string("fault hook: ") + name + " made to fail");
}
#else
void fault_point(const char*) {}
#endif

}  // namespace h5swmrfs::fs::reply
