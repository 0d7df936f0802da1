// The redis backend's renewer thread: extends the lease of every tracked entry (holds,
// waiting writers and drops) each lease/3, marks holds that redis no longer has as lost,
// and tells the process layer when a hold's lease is in doubt (a renewal failed, came
// after the hold's trusted time, or found the hold gone). redis_core.h has the lock order.
#include "lock/counts.h"
#include "lock/redis_core.h"
#include "util/log.h"

#include <algorithm>

namespace h5swmrfs::lock::redis {

using namespace std::chrono_literals;

void Core::track(const std::shared_ptr<Entry>& entry) {
    {
        std::lock_guard lock(tracked_mutex_);
        if (tracked_.empty()) next_renewal_ = Clock::now() + renew_every();
        tracked_[entry->token] = entry;
    }
    tracked_changed_.notify_all();
}

void Core::untrack(const std::string& token) {
    std::lock_guard lock(tracked_mutex_);
    tracked_.erase(token);
}

void Core::renewer_loop() {
    std::unique_lock lock(tracked_mutex_);
    // A renewal with nothing to renew failed: tried again at next_renewal_. A process that
    // was granted generations renews even with nothing tracked when told to (a lost
    // connection, a `restarted` notice): it tells redis what it saw, so that a state begun
    // anew by a process that saw nothing is found lost (redis_scripts.cpp, notice_restart).
    bool witness_again = false;
    for (;;) {
        auto due = [&] {
            return renew_now_ || ((!tracked_.empty() || witness_again) && Clock::now() >= next_renewal_);
        };
        if (tracked_.empty() && !witness_again)
            tracked_changed_.wait(lock, [&] { return renew_now_ || !tracked_.empty(); });
        else
            tracked_changed_.wait_until(lock, next_renewal_, due);
        {
            std::lock_guard stop_lock(subscriber_mutex_);
            if (stopping_) return;
        }
        if (!due()) continue;
        renew_now_ = false;
        witness_again = false;
        if (tracked_.empty() && seen_generation_.load() == 0) continue;
        std::vector<std::shared_ptr<Entry>> entries;
        // Whether each entry was a hold when the script was sent: a waiting writer granted
        // while the script is on its way (after a redis restart forgot its place in the
        // queue) is answered 0 and is not lost.
        std::vector<bool> was_hold;
        std::vector<std::string> args{std::to_string(options_.lease.count()), std::to_string(seen_generation_.load())};
        const Clock::rep woke = Clock::now().time_since_epoch().count();
        // A hold past its trusted time (this process was paused, or renewals failed): what
        // was read under it may be stale by now.
        bool in_doubt = false;
        for (auto& [token, entry] : tracked_) {
            entries.push_back(entry);
            was_hold.push_back(!entry->waiting);
            args.push_back(token);
            if (!entry->waiting && !entry->dropping && (entry->lost || woke >= entry->valid_until.load()))
                in_doubt = true;
        }
        lock.unlock();
        if (in_doubt) tell_lease_in_doubt();
        in_doubt = false;
        const std::uint64_t epoch = epoch_.load();
        const Clock::time_point sent = Clock::now();
        std::vector<std::string> ended;  // drops that redis no longer has
        bool ok = false;
        try {
            ReplyPtr reply = run(renew_script(), args);
            if (reply->type != REDIS_REPLY_ARRAY || reply->elements != entries.size() + 1)
                throw RedisError(Failure::Reply, "unexpected reply to the renew script");
            if (integer_of(reply->element[entries.size()]) == 1) warn_restarted("a renewal");
            for (std::size_t i = 0; i < entries.size(); ++i) {
                Entry& entry = *entries[i];
                if (integer_of(reply->element[i]) == 1) {
                    Clock::rep until = (sent + trusted_for()).time_since_epoch().count();
                    if (until > entry.valid_until.load()) entry.valid_until = until;
                    entry.confirmed_epoch = epoch;
                } else if (entry.dropping) {
                    ended.push_back(entry.token);  // reported dropped, or its lease ran out
                } else if (was_hold[i]) {
                    if (!entry.lost.exchange(true)) {
                        counts::lost(entry.mode);
                        log::warning("lock '", options_.key, "': hold is gone from redis (expired, broken or redis restarted)");
                    }
                    in_doubt = true;
                }
            }
            ok = true;
        } catch (const std::exception& e) {
            counts::renewal_missed();
            log::warning("lock '", options_.key, "': lease renewal failed: ", e.what());
            in_doubt = true;
        }
        if (in_doubt) tell_lease_in_doubt();
        lock.lock();
        for (const auto& token : ended) {
            auto it = tracked_.find(token);
            if (it != tracked_.end() && it->second->dropping) tracked_.erase(it);
        }
        if (ok) {
            next_renewal_ = sent + renew_every();
            if (epoch_.load() != epoch) renew_now_ = true;  // a disconnect raced the renewal
        } else {
            next_renewal_ = Clock::now() + std::min<Clock::duration>(options_.lease / 10, 250ms);
            if (entries.empty()) witness_again = true;
        }
    }
}

}  // namespace h5swmrfs::lock::redis
