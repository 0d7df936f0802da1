// What a caching process's drop handler was given (lock tests of both backends).
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

#include "lock/lock.h"

namespace h5swmrfs::locktest {

// Declare it before the locks whose handler it is: their threads call it until they end.
class DropRecorder {
public:
    std::function<void(const lock::Drop&)> handler() {
        return [this](const lock::Drop& drop) {
            {
                std::lock_guard lock(mutex_);
                drops_.push_back(drop);
                threads_.push_back(std::this_thread::get_id());
            }
            changed_.notify_all();
        };
    }
    bool wait_for(std::size_t count, std::chrono::steady_clock::duration timeout) {
        std::unique_lock lock(mutex_);
        return changed_.wait_for(lock, timeout, [&] { return drops_.size() >= count; });
    }
    std::vector<lock::Drop> drops() {
        std::lock_guard lock(mutex_);
        return drops_;
    }
    // The threads the handler ran on.
    std::vector<std::thread::id> threads() {
        std::lock_guard lock(mutex_);
        return threads_;
    }

private:
    std::mutex mutex_;
    std::condition_variable changed_;
    std::vector<lock::Drop> drops_;
    std::vector<std::thread::id> threads_;
};

}  // namespace h5swmrfs::locktest
