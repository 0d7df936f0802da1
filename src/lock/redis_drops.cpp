// The redis backend's cache drops: a caching process's shared hold released as a drop, the
// report that it was dropped, and a writer's wait for the drops of older generations.
// redis_core.h has the lock order; docs/LOCKING.md ("Cache drops") the protocol.
#include "lock/redis_core.h"
#include "util/log.h"

#include <algorithm>

namespace h5swmrfs::lock::redis {

using namespace std::chrono_literals;

Drop Core::release_as_drop(const std::shared_ptr<Entry>& entry) noexcept {
    const Drop drop{next_drop_id_++, entry->generation};
    entry->dropping = true;  // a renewal that finds nothing now means the drop ended
    {
        // Known as ours before redis has it: a wait of this process's writers for the drops
        // of others must never wait for this one.
        std::lock_guard lock(tracked_mutex_);
        drops_[drop.id] = entry;
    }
    long long result = -1;
    try {
        ReplyPtr reply = run(release_script(), {entry->token, "drop", std::to_string(options_.lease.count())},
                             Clock::now() + release_wait);
        result = integer_of(reply.get());
    } catch (const std::exception& e) {
        // Maybe recorded, maybe not: dropped(id) still removes it if it was; unrenewed, it
        // (or the hold, if the release never ran) ends with its lease.
        log::warning("lock '", options_.key, "': release failed (its lease will run out): ", e.what());
    }
    if (result == 2) {
        log::debug("lock '", options_.key, "': shared hold of generation ", drop.generation, " released as drop ",
                   drop.id);
        return drop;  // still tracked: renewed until dropped(id)
    }
    if (result == 0 && !entry->lost)
        log::warning("lock '", options_.key, "': hold had already expired when released (no drop recorded)");
    std::lock_guard lock(tracked_mutex_);
    tracked_.erase(entry->token);
    if (result != -1) drops_.erase(drop.id);
    return drop;
}

void Core::dropped(std::uint64_t id) noexcept {
    std::shared_ptr<Entry> entry;
    {
        std::lock_guard lock(tracked_mutex_);
        auto it = drops_.find(id);
        if (it == drops_.end()) return;  // reported before, or nothing was recorded
        entry = it->second;
        drops_.erase(it);
        tracked_.erase(entry->token);
    }
    try {
        run(dropped_script(), {entry->token}, Clock::now() + release_wait);
        log::debug("lock '", options_.key, "': drop ", id, " reported dropped");
    } catch (const std::exception& e) {
        log::warning("lock '", options_.key, "': reporting drop ", id,
                     " as dropped failed (writers wait for it until its lease ends): ", e.what());
    }
}

void Core::drop_all() noexcept {
    std::vector<std::uint64_t> ids;
    {
        std::lock_guard lock(tracked_mutex_);
        for (const auto& [id, entry] : drops_) ids.push_back(id);
    }
    for (std::uint64_t id : ids) dropped(id);
}

bool Core::wait_for_drops(std::uint64_t generation, bool others_only, Clock::time_point deadline) noexcept {
    milliseconds backoff = 50ms;
    bool warned = false;
    try {
        for (;;) {
            const std::uint64_t seen = events_.seen();
            std::vector<std::string> args{std::to_string(generation)};
            if (others_only) {
                std::lock_guard lock(tracked_mutex_);
                for (const auto& [id, entry] : drops_) args.push_back(entry->token);
            }
            Clock::time_point retry_at;
            try {
                ReplyPtr reply = run(wait_drops_script(), args, deadline);
                if (reply->type != REDIS_REPLY_ARRAY || reply->elements != 2)
                    throw RedisError(Failure::Reply, "unexpected reply to the wait_drops script");
                const long long pending = integer_of(reply->element[0]);
                if (pending == 0) return true;
                log::debug("lock '", options_.key, "': waiting for ", pending, " drop(s) older than generation ",
                           generation);
                const milliseconds first_ends{integer_of(reply->element[1])};
                retry_at = Clock::now() + std::clamp<milliseconds>(first_ends + 5ms, 5ms, max_quiet_wait);
                backoff = 50ms;
            } catch (const RedisError& e) {
                if (e.failure() != Failure::Unreachable) throw;
                if (!warned) log::warning(e.what(), "; retrying until the lock timeout");
                warned = true;
                retry_at = Clock::now() + backoff;
                backoff = std::min<milliseconds>(backoff * 2, 1000ms);
            }
            if (Clock::now() >= deadline) return false;
            // Woken by 'dropped' (and 'released'): a drop was reported or ended.
            events_.wait(seen, std::min(retry_at, deadline));
        }
    } catch (const std::exception& e) {
        log::warning("lock '", options_.key, "': waiting for drops failed: ", e.what());
        return false;
    }
}

}  // namespace h5swmrfs::lock::redis
