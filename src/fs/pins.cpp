#include "fs/pins.h"

#include "fs/open_file.h"
#include "lock/counts.h"

#include <algorithm>
#include <vector>

namespace h5swmrfs::fs {
namespace {

void count_cuts(const std::vector<std::shared_ptr<lock::Hold>>& dropped) {
    for (const auto& pin : dropped)
        if (pin) lock::counts::cut();
}

}  // namespace

void Pins::start(Follows follows) {
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

bool Pins::older_open(std::uint64_t ino, std::uint64_t generation, const Differs& differs,
                      const OpenFile* except) {
    std::vector<pid_t> openers;  // of older readers of `ino`
    {
        std::lock_guard guard(mutex_);
        for (OpenFile* file : files_) {
            if (file->ino != ino || file == except) continue;
            std::lock_guard file_guard(file->mutex);
            if (file->generation < generation && differs(*file)) openers.push_back(file->opener);
        }
    }
    // A mapping follows the file anyway.
    for (pid_t opener : openers)
        if (!follows_ || !follows_(opener, ino)) return true;
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

void Pins::cut_all_soon() {
    // Without mutex_, so this wake-up can come while the thread is between its check and
    // its wait, and be lost: its waits are bounded by kAskedPoll for that.
    cut_all_asked_ = true;
    wake_.notify_all();
}

void Pins::let_go(std::unique_lock<std::mutex>& guard, std::vector<std::shared_ptr<lock::Hold>>& dropped) {
    guard.unlock();
    count_cuts(dropped);
    dropped.clear();
    guard.lock();
}

void Pins::cut_followers(std::unique_lock<std::mutex>& guard) {
    struct Pinned {
        OpenFile* file;
        pid_t opener;
        std::uint64_t ino;
    };
    std::vector<Pinned> pinned;
    for (OpenFile* file : files_) {
        std::lock_guard file_guard(file->mutex);
        if (file->pin) pinned.push_back({file, file->opener, file->ino});
    }
    guard.unlock();
    std::erase_if(pinned, [&](const Pinned& p) { return !follows_(p.opener, p.ino); });
    guard.lock();
    std::vector<std::shared_ptr<lock::Hold>> dropped;
    for (const Pinned& p : pinned) {
        // Still open? (Another open file at the same address, of the same opener and
        // inode, loses its pin too: a cut is never wrong, only a cost.)
        if (!files_.count(p.file) || p.file->opener != p.opener || p.file->ino != p.ino) continue;
        dropped.push_back(take(p.file));
    }
    let_go(guard, dropped);
}

void Pins::run() {
    std::unique_lock guard(mutex_);
    while (!stopping_) {
        if (cut_all_asked_.exchange(false)) {
            guard.unlock();
            cut_all();
            guard.lock();
            continue;
        }
        if (notices_.empty()) {
            wake_.wait_for(guard, kAskedPoll, [&] { return stopping_ || cut_all_asked_ || !notices_.empty(); });
            continue;
        }
        if (screened_ < notices_.size() && follows_) {
            screened_ = notices_.size();
            cut_followers(guard);
            continue;
        }
        const Clock::time_point since = notices_.front();
        if (Clock::now() < since + grace_) {
            wake_.wait_until(guard, std::min(since + grace_, Clock::now() + kAskedPoll), [&] {
                return stopping_ || cut_all_asked_ || (follows_ && screened_ < notices_.size());
            });
            continue;
        }
        notices_.pop_front();
        if (screened_ > 0) --screened_;
        // In the writer's way: pins made before it began to wait, and pins of the hold it
        // waits for (one made just after its notice, under the hold kept until then, would
        // otherwise keep it waiting until its reader closes).
        std::vector<std::shared_ptr<lock::Hold>> dropped;
        for (OpenFile* file : files_) {
            std::lock_guard file_guard(file->mutex);
            if (file->pin && (file->pinned_at < since || file->pin->wanted())) dropped.push_back(std::move(file->pin));
        }
        let_go(guard, dropped);
    }
}

}  // namespace h5swmrfs::fs
