// What a mount is told at start.
#pragma once

#include <chrono>
#include <string>

namespace h5swmrfs::fs {

struct Config {
    std::string file;        // canonical absolute path of FILE.h5
    std::string mountpoint;  // canonical absolute path of the mount point
    bool read_only = false;  // -o ro
    bool cache = false;      // the kernel may cache under shared holds (kernel_cache.h); --cache
    // How long a reader's open file keeps another process's writer waiting (pins.h).
    std::chrono::milliseconds pin_grace{15000};
};

}  // namespace h5swmrfs::fs
