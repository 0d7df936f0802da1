// What a file's metadata tells about whether it changed: the part of the h5pyswmr backend's
// generation that sees writes by programs that leave no other trace (docs/LOCKING.md).
#pragma once

#include <chrono>
#include <cstdint>
#include <string>

namespace h5swmrfs::lock {

struct FileStamp {
    bool present = false;  // false: no path given, or the file could not be stat'ed
    std::uint64_t dev = 0, ino = 0, size = 0;
    std::int64_t ctime_ns = 0, mtime_ns = 0;
    // The change time was too recent to tell this state from a later write in the same tick
    // of the file system's clock: the next look must count as a change.
    bool racy = false;

    bool same_file_state(const FileStamp& other) const {
        return present == other.present && dev == other.dev && ino == other.ino && size == other.size &&
               ctime_ns == other.ctime_ns && mtime_ns == other.mtime_ns;
    }
};

// Stats `path` (empty: a stamp that is not present). Change times are taken from a coarse
// clock (one tick of a few ms), so a write soon after this look could keep them: while the
// change time is less than `settle` old, waits (at most `settle`) until it is not; a change
// time further ahead (another host's clock) is marked racy instead. Call it while holding
// the lock, so that nothing writes during the wait.
FileStamp stamp_file(const std::string& path, std::chrono::milliseconds settle);

}  // namespace h5swmrfs::lock
