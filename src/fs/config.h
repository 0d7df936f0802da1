// What a mount is told at start.
#pragma once

#include <chrono>
#include <cstddef>
#include <string>

namespace h5swmrfs::fs {

struct Config {
    std::string file;        // canonical absolute path of FILE.h5
    std::string mountpoint;  // canonical absolute path of the mount point
    bool read_only = false;  // -o ro
    bool cache = false;      // the kernel may cache under shared holds (kernel_cache.h); --cache
    // How long a reader's open file keeps another process's writer waiting (pins.h).
    std::chrono::milliseconds pin_grace{15000};
    // The direct read path (h5/direct_read.h): datasets it takes are read with pread and
    // decoded on `threads` workers, decoded chunks kept up to `chunk_cache_bytes` per
    // generation. --no-direct: every read is an H5Dread.
    bool direct = true;
    unsigned threads = 0;  // 0: one per core
    std::size_t chunk_cache_bytes = std::size_t{256} << 20;
};

}  // namespace h5swmrfs::fs
