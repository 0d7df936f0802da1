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

}  // namespace h5swmrfs::fs::activity
