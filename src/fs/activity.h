// What the mount counts of its work for --metrics (src/metrics): per kind of FUSE
// operation, how each ended and how long it took (counted by reply::guarded, which
// every operation runs in); commits; bytes read. Counting is an atomic add or two.
#pragma once

#include <chrono>
#include <cstdint>

#include "metrics/metric.h"
#include "metrics/results.h"

namespace h5swmrfs::fs::activity {

// One kind of FUSE operation ("read", "lookup", ...). Made once per kind, when the
// program starts (operations.cpp), so every kind shows from the first scrape.
class Operation {
public:
    explicit Operation(const char* name);
    const char* name() const noexcept { return name_; }
    // One request served: answered with `error` (0: success) after `took`.
    void served(int error, std::chrono::steady_clock::duration took) noexcept;

private:
    const char* name_;
    metrics::ResultCounters results_;
    metrics::Histogram& latency_;
};

// A commit of staged bytes that ended: `error` 0 and the bytes it wrote, or its errno.
void committed(int error, std::uint64_t bytes) noexcept;
// Bytes a read answered with.
void read(std::uint64_t bytes) noexcept;
// The kernel's caches emptied after a shared hold was given up (kernel_cache.h): how many
// inodes and names it was told to forget, and how long it took from the drop to the report
// (what writers elsewhere wait for). What the kernel answers from its caches never reaches
// the mount, so hits cannot be counted: they are the requests that do not show up.
void cache_dropped(std::uint64_t inodes, std::uint64_t names, std::chrono::steady_clock::duration took) noexcept;

}  // namespace h5swmrfs::fs::activity
