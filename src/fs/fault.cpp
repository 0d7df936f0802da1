// Test builds only: a test makes an operation fail by writing its name to the file named by
// $H5SWMRFS_FAULT_FILE; the next call of that operation throws (once), as any unforeseen
// failure would. "pause NAME MS" makes the next pass through point NAME wait MS
// milliseconds instead (once): a test widens a race window with it. Release builds compile
// none of it.
#include "fs/reply.h"
#include "util/fd.h"

#ifdef H5SWMRFS_FAULT_HOOKS
#include <fcntl.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <mutex>
#include <stdexcept>
#include <sstream>
#include <string>
#include <thread>
#endif

namespace h5swmrfs::fs::reply {

#ifdef H5SWMRFS_FAULT_HOOKS
void fault_point(const char* name) {
    static const char* const path = std::getenv("H5SWMRFS_FAULT_FILE");
    if (!path) return;
    long pause_ms = 0;
    {
        static std::mutex mutex;
        std::lock_guard guard(mutex);
        const util::Fd fd(::open(path, O_RDWR | O_CLOEXEC));
        if (!fd) return;
        char text[64] = {};
        const ssize_t n = ::pread(fd.get(), text, sizeof text - 1, 0);
        std::istringstream wanted(std::string(text, n > 0 ? static_cast<std::size_t>(n) : 0));
        std::string first, point;
        wanted >> first;
        if (first == "pause") wanted >> point >> pause_ms;
        else point = first;
        if (point != name || ::ftruncate(fd.get(), 0) != 0) return;
        if (first != "pause") throw std::runtime_error(std::string("fault hook: ") + name + " made to fail");
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(pause_ms));  // other points go on meanwhile
}
#else
void fault_point(const char*) {}
#endif

}  // namespace h5swmrfs::fs::reply
