// The h5pyswmr backend's keeper thread: keeps every simple key this process holds alive (a
// hold longer than the keys' TTL is not lost to the expiry), tells the holds whose key was
// lost, and while this process has a shared hold watches writecount, so that a writer
// waiting anywhere (an h5pySWMR program or a mount) gets the kept hold at once.
#include "lock/counts.h"
#include "lock/h5pyswmr_core.h"
#include "util/log.h"

#include <algorithm>
#include <vector>

namespace h5swmrfs::lock::h5pyswmr {

void Core::start() {
    keeper_ = std::thread([this] { keeper_loop(); });
}

void Core::stop() noexcept {
    {
        std::lock_guard lock(mutex_);
        stopping_ = true;
    }
    changed_.notify_all();
    if (keeper_.joinable()) keeper_.join();
}

std::uint64_t Core::keep(const std::string& key, const std::string& id, std::shared_ptr<HoldState> hold) {
    std::uint64_t ticket;
    {
        std::lock_guard lock(mutex_);
        ticket = next_ticket_++;
        kept_.emplace(ticket, Kept{key, id, std::move(hold), Clock::now() + keep_every});
    }
    changed_.notify_all();  // the keeper may sleep past this key's first turn
    return ticket;
}

void Core::unkeep(std::uint64_t ticket) {
    std::lock_guard lock(mutex_);
    kept_.erase(ticket);
}

void Core::keeper_loop() {
    Clock::time_point next_watch = Clock::now();
    std::unique_lock lock(mutex_);
    while (!stopping_) {
        const Clock::time_point now = Clock::now();
        Clock::time_point wake = now + std::chrono::hours(1);
        std::vector<Kept> due;
        for (auto& [ticket, kept] : kept_) {
            if (kept.next <= now) {
                due.push_back(kept);
                kept.next = now + keep_every;
            }
            wake = std::min(wake, kept.next);
        }
        const bool watch = shared_holds_ > 0 && now >= next_watch;
        if (shared_holds_ > 0) {
            if (watch) next_watch = now + watch_every;
            wake = std::min(wake, next_watch);
        }
        if (due.empty() && !watch) {
            changed_.wait_until(lock, wake);
            continue;
        }
        lock.unlock();
        for (const Kept& kept : due) keep_alive(kept.key, kept.id, kept.hold);
        if (watch) watch_writers();
        lock.lock();
    }
}

void Core::keep_alive(const std::string& key, const std::string& id, const std::shared_ptr<HoldState>& hold) {
    const Clock::time_point sent = Clock::now();
    bool ours = false;
    try {
        ours = steps_.keep(key, id);
    } catch (const std::exception& e) {
        counts::renewal_missed();
        log::warning("lock '", options_.key, "': keeping ", key, " alive failed: ", e.what());
        if (hold && !hold->lost) tell_lease_in_doubt();
        return;
    }
    if (!hold || hold->lost) return;
    if (ours && sent.time_since_epoch().count() < hold->valid_until.load()) {
        hold->valid_until = (sent + trusted_for).time_since_epoch().count();
        return;
    }
    // Gone (expired, taken by someone else, cleared by a break), or kept alive too late to
    // be sure nobody else had it in between.
    if (!hold->lost.exchange(true)) {
        counts::lost(hold->mode);
        log::warning("lock '", options_.key, "': ", key, ours ? " was kept alive too late" : " is no longer ours",
                     "; hold given up");
    }
    tell_lease_in_doubt();
}

void Core::watch_writers() {
    long long writers = 0;
    try {
        writers = steps_.counter(keys_.writecount);
    } catch (const std::exception&) {
        return;  // the holds find out through keep_alive
    }
    if (writers <= 0) {
        writers_seen_ = false;
        return;
    }
    const Clock::time_point now = Clock::now();
    if (writers_seen_ && now - last_notice_ < notice_every) return;
    writers_seen_ = true;
    last_notice_ = now;
    if (writer_waiting_) writer_waiting_();
}

}  // namespace h5swmrfs::lock::h5pyswmr
