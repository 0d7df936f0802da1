// The command line of SPEC §1.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "lock/lock.h"

namespace h5swmrfs::cli {

struct Options {
    std::string file;
    std::string mountpoint;
    lock::Options lock;
    std::string redis_password_file;
    bool create = false;
    std::optional<bool> cache;              // --cache / --no-cache; unset: on, but off with --lock h5pyswmr
    bool direct = true;                     // --direct / --no-direct
    unsigned threads = 0;                   // --threads N; 0: one per core
    unsigned long long chunk_cache_mib = 256;  // --chunk-cache MIB
    bool foreground = false;
    bool debug = false;
    bool single_thread = false;
    bool read_only = false;
    bool auto_unmount = false;              // libfuse's -o auto_unmount, and clear a dead mount first
    std::vector<std::string> fuse_options;  // each -o word left to FUSE, escaped for its -o
    std::string metrics;                    // --metrics ADDR (metrics/address.h); empty: none served
    bool help = false;
    bool version = false;
};

// Throws Error(EINVAL, one line) for anything it cannot accept.
Options parse(int argc, char** argv);

std::string usage(const std::string& program);

}  // namespace h5swmrfs::cli
