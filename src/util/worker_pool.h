// A fixed set of threads that run short tasks: the decoding of a read's chunks, and the
// read-ahead of the chunks a sequential reader asks for next.
#pragma once

#include <condition_variable>
#include <cstddef>
#include <deque>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

namespace h5swmrfs::util {

class WorkerPool {
public:
    // `threads` workers (at least one). Start it after daemonising: threads do not survive a fork.
    explicit WorkerPool(unsigned threads);
    // Drops the background tasks not started yet, lets the running ones finish, joins.
    ~WorkerPool();
    WorkerPool(const WorkerPool&) = delete;
    WorkerPool& operator=(const WorkerPool&) = delete;

    unsigned size() const noexcept { return static_cast<unsigned>(threads_.size()); }

    // Runs every task and returns when all are done; then throws the first failure as an
    // Error with its errno (errno_of) and message. The
    // calling thread works through the tasks too, so they finish even when every worker is
    // busy (a task never waits for a worker that waits for it).
    void run_all(const std::vector<std::function<void()>>& tasks);

    // Runs `task` some time later, after every run_all's work; dropped when `limit` background
    // tasks already wait. Returns whether it was queued. A task must not throw.
    bool post(std::function<void()> task, std::size_t limit);

private:
    void work();

    std::mutex mutex_;
    std::condition_variable wake_;
    std::deque<std::function<void()>> urgent_;      // helpers of run_all
    std::deque<std::function<void()>> background_;  // read-ahead
    bool stopping_ = false;
    std::vector<std::thread> threads_;
};

// The number of threads `--threads 0` means: one per core.
unsigned default_threads() noexcept;

}  // namespace h5swmrfs::util
