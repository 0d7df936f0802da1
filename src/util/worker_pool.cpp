#include "util/worker_pool.h"

#include <algorithm>
#include <atomic>
#include <exception>
#include <memory>
#include <string>

#include "util/error.h"
#include "util/log.h"

namespace h5swmrfs::util {
namespace {

// The tasks of one run_all, taken one at a time by whoever comes first.
struct Batch {
    explicit Batch(const std::vector<std::function<void()>>& tasks_) : tasks(tasks_), count(tasks_.size()) {}
    // Touched only while a task is left to start: run_all waits for them, a worker that
    // comes after they are all done finds none and never looks at the vector.
    const std::vector<std::function<void()>>& tasks;
    const std::size_t count;
    std::atomic<std::size_t> next{0};
    std::mutex mutex;
    std::condition_variable finished;
    std::size_t done = 0;
    // The first failure, as a value: an exception object shared between threads would be
    // freed by whichever lets go last, ordered only inside the C++ runtime.
    bool failed = false;
    int error = 0;
    std::string message;

    // Runs tasks until none is left to start.
    void help() {
        for (;;) {
            const std::size_t index = next.fetch_add(1);
            if (index >= count) return;
            bool task_failed = false;
            int task_error = 0;
            std::string task_message;
            try {
                tasks[index]();
            } catch (const std::exception& e) {
                task_failed = true;
                task_error = errno_of(e);
                task_message = e.what();
            } catch (...) {
                task_failed = true;
                task_error = EIO;
                task_message = "a task failed";
            }
            std::lock_guard guard(mutex);
            if (task_failed && !failed) {
                failed = true;
                error = task_error;
                message = std::move(task_message);
            }
            if (++done == count) finished.notify_all();
        }
    }
};

}  // namespace

unsigned default_threads() noexcept {
    const unsigned cores = std::thread::hardware_concurrency();
    return cores ? cores : 1;
}

WorkerPool::WorkerPool(unsigned threads) {
    if (threads == 0) threads = 1;
    threads_.reserve(threads);
    for (unsigned i = 0; i < threads; ++i) threads_.emplace_back([this] { work(); });
}

WorkerPool::~WorkerPool() {
    {
        std::lock_guard guard(mutex_);
        stopping_ = true;
    }
    wake_.notify_all();
    for (std::thread& thread : threads_) thread.join();
    // What was never started is destroyed here, with whatever it kept alive.
}

void WorkerPool::work() {
    for (;;) {
        std::function<void()> task;
        {
            std::unique_lock guard(mutex_);
            wake_.wait(guard, [this] { return stopping_ || !urgent_.empty() || !background_.empty(); });
            if (!urgent_.empty()) {
                task = std::move(urgent_.front());
                urgent_.pop_front();
            } else if (stopping_) {
                return;
            } else {
                task = std::move(background_.front());
                background_.pop_front();
            }
        }
        try {
            task();
        } catch (const std::exception& e) {
            log::error("a background task failed: ", e.what());
        } catch (...) {
            log::error("a background task failed");
        }
    }
}

void WorkerPool::run_all(const std::vector<std::function<void()>>& tasks) {
    if (tasks.empty()) return;
    auto batch = std::make_shared<Batch>(tasks);
    if (tasks.size() > 1) {
        const std::size_t helpers = std::min<std::size_t>(tasks.size() - 1, threads_.size());
        {
            std::lock_guard guard(mutex_);
            for (std::size_t i = 0; i < helpers; ++i) urgent_.emplace_back([batch] { batch->help(); });
        }
        if (helpers == 1) wake_.notify_one();
        else wake_.notify_all();
    }
    batch->help();
    std::unique_lock guard(batch->mutex);
    batch->finished.wait(guard, [&] { return batch->done == tasks.size(); });
    if (batch->failed) throw Error(batch->error, batch->message);
}

bool WorkerPool::post(std::function<void()> task, std::size_t limit) {
    {
        std::lock_guard guard(mutex_);
        if (stopping_ || background_.size() >= limit) return false;
        background_.push_back(std::move(task));
    }
    wake_.notify_one();
    return true;
}

}  // namespace h5swmrfs::util
