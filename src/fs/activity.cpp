#include "fs/activity.h"

#include "metrics/registry.h"

namespace h5swmrfs::fs::activity {
namespace {

struct Totals {
    metrics::ResultCounters commits{metrics::registry(), "h5swmrfs_commits_total",
                                    "Commits of bytes written through an open file (at close, fsync or release), by "
                                    "result: ok, or the errno it failed with.",
                                    {}};
    metrics::Counter& commit_bytes = metrics::registry().counter(
        "h5swmrfs_commit_bytes_total", "Bytes written through open files and committed, by commits that succeeded.");
    metrics::Counter& read_bytes =
        metrics::registry().counter("h5swmrfs_read_bytes_total", "Bytes that read requests answered with.");
    metrics::Counter& cache_drops = metrics::registry().counter(
        "h5swmrfs_cache_drops_total",
        "Times the kernel's caches of this mount were emptied because it gave up a shared hold.");
    metrics::Counter& forgotten_inodes = metrics::registry().counter(
        "h5swmrfs_cache_forgotten_total", "What the kernel was told to forget, by kind: inode (attributes and pages) or name.",
        {{"kind", "inode"}});
    metrics::Counter& forgotten_names = metrics::registry().counter(
        "h5swmrfs_cache_forgotten_total", "What the kernel was told to forget, by kind: inode (attributes and pages) or name.",
        {{"kind", "name"}});
    metrics::Histogram& drop_time = metrics::registry().histogram(
        "h5swmrfs_cache_drop_duration_seconds",
        "Time from giving up a shared hold to reporting the kernel's caches emptied: what writers elsewhere wait for.");
};

// Registered when the program starts, so every series is there, at 0, from the first scrape.
Totals totals;

}  // namespace

Operation::Operation(const char* name)
    : name_(name),
      results_(metrics::registry(), "h5swmrfs_operations_total",
               "FUSE requests served, by operation and result: ok, or the errno it was answered with.",
               {{"op", name}}),
      latency_(metrics::registry().histogram("h5swmrfs_operation_duration_seconds",
                                             "Time from a FUSE request's arrival to its answer, lock waits included, by "
                                             "operation.",
                                             {{"op", name}})) {}

void Operation::served(int error, std::chrono::steady_clock::duration took) noexcept {
    results_.count(error);
    latency_.observe(took);
}

void committed(int error, std::uint64_t bytes) noexcept {
    totals.commits.count(error);
    if (error == 0) totals.commit_bytes.add(bytes);
}

void read(std::uint64_t bytes) noexcept { totals.read_bytes.add(bytes); }

void cache_dropped(std::uint64_t inodes, std::uint64_t names, std::chrono::steady_clock::duration took) noexcept {
    totals.cache_drops.add();
    totals.forgotten_inodes.add(inodes);
    totals.forgotten_names.add(names);
    totals.drop_time.observe(took);
}

}  // namespace h5swmrfs::fs::activity
