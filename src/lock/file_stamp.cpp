#include "lock/file_stamp.h"

#include <sys/stat.h>

#include <ctime>
#include <thread>

namespace h5swmrfs::lock {
namespace {

std::int64_t ns_of(const timespec& t) { return static_cast<std::int64_t>(t.tv_sec) * 1000000000 + t.tv_nsec; }

std::int64_t realtime_ns() {
    timespec now{};
    ::clock_gettime(CLOCK_REALTIME, &now);
    return ns_of(now);
}

FileStamp look(const std::string& path) {
    FileStamp stamp;
    struct stat st {};
    if (path.empty() || ::stat(path.c_str(), &st) != 0) return stamp;
    stamp.present = true;
    stamp.dev = st.st_dev;
    stamp.ino = st.st_ino;
    stamp.size = static_cast<std::uint64_t>(st.st_size);
    stamp.ctime_ns = ns_of(st.st_ctim);
    stamp.mtime_ns = ns_of(st.st_mtim);
    return stamp;
}

}  // namespace

FileStamp stamp_file(const std::string& path, std::chrono::milliseconds settle) {
    FileStamp stamp = look(path);
    if (!stamp.present) return stamp;
    const std::int64_t settle_ns = std::chrono::nanoseconds(settle).count();
    const std::int64_t age = realtime_ns() - stamp.ctime_ns;
    if (age >= settle_ns) return stamp;
    if (age < -settle_ns) {
        stamp.racy = true;
        return stamp;
    }
    std::this_thread::sleep_for(std::chrono::nanoseconds(settle_ns - age));
    stamp = look(path);
    stamp.racy = !stamp.present || realtime_ns() - stamp.ctime_ns < settle_ns;
    return stamp;
}

}  // namespace h5swmrfs::lock
