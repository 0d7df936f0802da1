#include "fs/pins.h"

#include "fs/open_file.h"
#include "lock/counts.h"

#include <vector>

namespace h5swmrfs::fs {
namespace {

void count_cuts(const std::vector<std::shared_ptr<lock::Hold>>& dropped) {
    for (const auto& pin : dropped)
        if (pin) lock::counts::cut();
}

}  // namespace

void Pins::start(std::function<bool(const OpenFile&)> follows) {
    follows_ = std::move(follows);
    thread_ = std::thread([this] { run(); });
}

void Pins::stop() {
    {
        std::lock_guard guard(mutex_);
        stopping_ = true;
    }
    wake_.notify_all();
    if (thread_.joinable()) thread_.join();
}

std::shared_ptr<lock::Hold> Pins::add(OpenFile* file, std::uint64_t cuts) {
    std::lock_guard guard(mutex_);
    files_.insert(file);
    if (cuts_.load() == cuts) return nullptr;
    return take(file);
}

void Pins::remove(OpenFile* file) {
    std::lock_guard guard(mutex_);
    files_.erase(file);
}

void Pins::writer_waiting() {
    {
        std::lock_guard guard(mutex_);
        notices_.push_back(Clock::now());
    }
    wake_.notify_all();
}

bool Pins::older_open(std::uint64_t ino, std::uint64_t generation) {
    std::lock_guard guard(mutex_);
    for (OpenFile* file : files_) {
        if (file->ino != ino) continue;
        {
            std::lock_guard file_guard(file->mutex);
            if (file->generation >= generation) continue;
        }
        if (!follows_ || !follows_(*file)) return true;  // a mapping follows the file anyway
    }
    return false;
}

std::shared_ptr<lock::Hold> Pins::borrow(std::uint64_t ino) {
    std::lock_guard guard(mutex_);
    for (OpenFile* file : files_) {
        if (file->ino != ino) continue;
        std::lock_guard file_guard(file->mutex);
        if (file->pin) return file->pin;
    }
    return nullptr;
}

std::shared_ptr<lock::Hold> Pins::take(OpenFile* file) {
    std::lock_guard guard(file->mutex);
    return std::move(file->pin);
}

void Pins::cut_all() {
    // Holds are let go after the mutexes: giving one back may talk to the lock server.
    std::vector<std::shared_ptr<lock::Hold>> dropped;
    {
        std::lock_guard guard(mutex_);
        ++cuts_;
        for (OpenFile* file : files_) dropped.push_back(take(file));
    }
    count_cuts(dropped);
}

void Pins::run() {
    std::unique_lock guard(mutex_);
    while (!stopping_) {
        if (notices_.empty()) {
            wake_.wait(guard);
            continue;
        }
        if (screened_ < notices_.size() && follows_) {
            screened_ = notices_.size();
            std::vector<std::shared_ptr<lock::Hold>> dropped;
            for (OpenFile* file : files_) {
                if (!follows_(*file)) continue;
                std::lock_guard file_guard(file->mutex);
                if (file->pin) dropped.push_back(std::move(file->pin));
            }
            guard.unlock();
            count_cuts(dropped);
            dropped.clear();
            guard.lock();
            continue;
        }
        const Clock::time_point since = notices_.front();
        if (Clock::now() < since + grace_) {
            wake_.wait_until(guard, since + grace_);
            continue;
        }
        notices_.pop_front();
        if (screened_ > 0) --screened_;
        // Pins made before the writer began to wait are the ones in its way.
        std::vector<std::shared_ptr<lock::Hold>> dropped;
        for (OpenFile* file : files_) {
            std::lock_guard file_guard(file->mutex);
            if (file->pin && file->pinned_at < since) dropped.push_back(std::move(file->pin));
        }
        guard.unlock();
        count_cuts(dropped);
        dropped.clear();
        guard.lock();
    }
}

}  // namespace h5swmrfs::fs
