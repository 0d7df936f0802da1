// The redis backend: grants by Lua script (redis_scripts.cpp), leases kept alive by a
// renewer thread (redis_renewer.cpp), waits woken by a subscriber thread
// (redis_subscriber.cpp). This file: acquiring, releasing and checking holds, and the
// Backend interface over them. redis_core.h has the threads and the lock order;
// docs/LOCKING.md is the protocol.
#include "lock/counts.h"
#include "lock/identity.h"
#include "lock/redis_core.h"
#include "util/error.h"
#include "util/log.h"

#include <algorithm>
#include <cstdlib>

namespace h5swmrfs::lock {
namespace redis {

using namespace std::chrono_literals;

Core::Core(const Options& options, Endpoint endpoint)
    : options_(options),
      keys_(options.key),
      pool_(std::move(endpoint), std::clamp<milliseconds>(options.lease / 4, 250ms, 5000ms)) {}

namespace {

std::string seconds_text(Clock::duration d) {
    auto ms = std::chrono::duration_cast<milliseconds>(d).count();
    return std::to_string(ms / 1000) + "." + std::to_string((ms % 1000) / 100) + " s";
}

class RedisHold : public BackendHold {
public:
    RedisHold(std::shared_ptr<Core> core, std::shared_ptr<Entry> entry) : core_(std::move(core)), entry_(std::move(entry)) {}
    ~RedisHold() override {
        if (!released_) core_->release(entry_);
    }
    Mode mode() const noexcept override { return entry_->mode; }
    std::uint64_t generation() const noexcept override { return entry_->generation; }
    std::uint64_t fence() const noexcept override { return entry_->fence; }
    void check_valid() const override { core_->check_valid(*entry_); }
    Drop release_as_drop() noexcept override {
        released_ = true;
        return core_->release_as_drop(entry_);
    }

private:
    std::shared_ptr<Core> core_;
    std::shared_ptr<Entry> entry_;
    bool released_ = false;
};

}  // namespace

void Core::start() {
    // Subscribe before the first acquire can wait, so its first wake-up cannot be missed.
    milliseconds backoff = 50ms;
    try {
        subscribe_once(backoff);
    } catch (const std::exception&) {
        // The subscriber thread keeps trying; acquire reports an unreachable redis itself.
    }
    subscriber_thread_ = std::thread([this] { subscriber_loop(); });
    renewer_ = std::thread([this] { renewer_loop(); });
}

void Core::stop() noexcept {
    {
        std::lock_guard lock(subscriber_mutex_);
        stopping_ = true;
        if (subscriber_) subscriber_->shut_down();
    }
    stop_requested_.notify_all();
    {
        std::lock_guard lock(tracked_mutex_);
        renew_now_ = true;
    }
    tracked_changed_.notify_all();
    if (subscriber_thread_.joinable()) subscriber_thread_.join();
    if (renewer_.joinable()) renewer_.join();
}

ReplyPtr Core::run(const Script& script, const std::vector<std::string>& args, Clock::time_point deadline) {
    for (int attempt = 0;; ++attempt) {
        // At least min_request: a request cut shorter than a round trip could not succeed.
        const auto left = deadline == Clock::time_point::max()
                              ? milliseconds::max()
                              : std::max(min_request, std::chrono::ceil<milliseconds>(deadline - Clock::now()));
        try {
            return pool_.with([&](Connection& c) { return script.run(c, keys_, args); }, left);
        } catch (const RedisError& e) {
            if (e.failure() != Failure::Unreachable || attempt == 1 || Clock::now() >= deadline) throw;
        }
    }
}

std::unique_ptr<BackendHold> Core::acquire(Mode mode, Clock::time_point deadline) {
    auto entry = std::make_shared<Entry>();
    entry->token = random_token();
    entry->mode = mode;
    std::vector<std::string> args{mode == Mode::Shared ? "S" : "X", entry->token,
                                  std::to_string(options_.lease.count()), owner_json(options_.holder_label), ""};
    const Clock::time_point started = Clock::now();
    std::string unreachable;  // the last connection failure, while the last attempt failed
    milliseconds backoff = 50ms;
    bool enqueued = false;
    for (;;) {
        const std::uint64_t seen = events_.seen();
        const std::uint64_t epoch = epoch_.load();
        const Clock::time_point sent = Clock::now();
        Clock::time_point retry_at;
        args.back() = std::to_string(seen_generation_.load());
        try {
            ReplyPtr reply = run(acquire_script(), args, deadline);
            if (reply->type != REDIS_REPLY_ARRAY || reply->elements != 6)
                throw RedisError(Failure::Reply, "unexpected reply to the acquire script");
            if (integer_of(reply->element[5]) == 1 && !warned_blind_.exchange(true))
                log::warning("lock '", options_.key, "': the redis user may not run INFO (give it +info): a redis "
                             "restart that reloads an older snapshot cannot be recognised unless a process that saw "
                             "a later generation asks first; until then holds it forgot are not waited for, and the "
                             "generation may repeat");
            const long long restarted = integer_of(reply->element[4]);
            if (restarted == 2)
                log::info("lock '", options_.key, "': first use of the lock on this redis (or redis lost its data)");
            if (restarted == 1) warn_restarted("an acquire");
            if (integer_of(reply->element[0]) == 1) {
                entry->generation = static_cast<std::uint64_t>(integer_of(reply->element[1]));
                remember_generation(entry->generation);
                warned_restarted_ = false;
                entry->fence = static_cast<std::uint64_t>(integer_of(reply->element[2]));
                entry->valid_until = (sent + trusted_for()).time_since_epoch().count();
                entry->confirmed_epoch = epoch;
                entry->waiting = false;
                track(entry);
                log::debug("lock '", options_.key, "': ", mode == Mode::Shared ? "shared" : "exclusive",
                           " granted, generation ", entry->generation);
                return std::make_unique<RedisHold>(shared_from_this(), entry);
            }
            if (mode == Mode::Exclusive && !enqueued) {
                track(entry);  // keep our place in the writers' queue alive while we wait
                enqueued = true;
            }
            const milliseconds retry_after{integer_of(reply->element[3])};
            retry_at = Clock::now() + std::clamp<milliseconds>(retry_after + 5ms, 5ms, max_quiet_wait);
            unreachable.clear();
            backoff = 50ms;
        } catch (const RedisError& e) {
            if (e.failure() != Failure::Unreachable) {
                release(entry);
                throw;
            }
            if (unreachable.empty()) log::warning(e.what(), "; retrying until the lock timeout");
            unreachable = e.what();
            retry_at = Clock::now() + backoff;
            backoff = std::min<milliseconds>(backoff * 2, 1000ms);
        }
        if (Clock::now() < deadline) events_.wait(seen, std::min(retry_at, deadline));
        if (Clock::now() >= deadline) {
            // A waiting writer leaves the queue, so readers behind it go on (a redis that does
            // not answer is not waited for: the entry's lease ends without renewals).
            if (enqueued) release(entry, unreachable.empty() ? release_wait : min_request);
            if (!unreachable.empty())
                throw Error(EIO, "lock '" + options_.key + "': " + unreachable + " for " + seconds_text(Clock::now() - started));
            throw Error(EBUSY, "lock '" + options_.key + "' still taken after " + seconds_text(Clock::now() - started) +
                                   " (h5swmrfs-ctl status shows the holders)");
        }
    }
}

void Core::warn_restarted(const char* found_by) {
    if (warned_restarted_.exchange(true)) return;  // until a grant from the state it now has
    log::warning("lock '", options_.key, "': redis at ", pool_.endpoint().describe(),
                 " serves this lock from a new server process, or lost or rolled back its state (found by ", found_by,
                 "): holds it no longer has are lost, the generation moved past every earlier one, and nothing is "
                 "granted until every hold it forgot has run out");
}

void Core::remember_generation(std::uint64_t generation) noexcept {
    std::uint64_t seen = seen_generation_.load();
    while (generation > seen && !seen_generation_.compare_exchange_weak(seen, generation)) {
    }
}

void Core::release(const std::shared_ptr<Entry>& entry, milliseconds wait) noexcept {
    untrack(entry->token);
    try {
        ReplyPtr reply = run(release_script(), {entry->token}, Clock::now() + wait);
        if (integer_of(reply.get()) == 0 && !entry->waiting && !entry->lost)
            log::warning("lock '", options_.key, "': hold had already expired when released");
    } catch (const std::exception& e) {
        log::warning("lock '", options_.key, "': release failed (its lease will run out): ", e.what());
    }
}

void Core::check_valid(Entry& entry) const {
    if (entry.lost) throw Error(EIO, "lock '" + options_.key + "': hold lost (lease ran out or the lock was broken)");
    if (Clock::now().time_since_epoch().count() >= entry.valid_until.load()) {
        if (!entry.lost.exchange(true)) {
            counts::lost(entry.mode);
            log::warning("lock '", options_.key, "': lease could not be renewed in time; hold given up");
        }
        throw Error(EIO, "lock '" + options_.key + "': lease could not be renewed in time");
    }
    if (entry.confirmed_epoch.load() < epoch_.load())
        throw Error(EIO, "lock '" + options_.key + "': connection to redis lost; hold not confirmed yet");
}

void Core::check_reachable() {
    Connection connection(pool_.endpoint(), pool_.timeout());
    connection.command({"PING"});
}

std::uint64_t Core::current_generation() {
    for (int attempt = 0;; ++attempt) {
        try {
            return static_cast<std::uint64_t>(
                pool_.with([&](Connection& c) { return integer_of(c.command({"GET", keys_.generation}).get()); }));
        } catch (const RedisError& e) {
            if (e.failure() != Failure::Unreachable || attempt == 1) throw;
        }
    }
}

}  // namespace redis

namespace {

class RedisBackend : public Backend {
public:
    RedisBackend(const Options& options, redis::Endpoint endpoint)
        : core_(std::make_shared<redis::Core>(options, std::move(endpoint))) {}
    ~RedisBackend() override {
        core_->drop_all();
        core_->stop();
    }

    std::unique_ptr<BackendHold> acquire(Mode mode, Clock::time_point deadline) override {
        start_once();
        return core_->acquire(mode, deadline);
    }
    void check_reachable() override { core_->check_reachable(); }
    std::uint64_t current_generation() override { return core_->current_generation(); }
    void on_writer_waiting(std::function<void()> handler) override { core_->on_writer_waiting(std::move(handler)); }
    void on_lease_in_doubt(std::function<void()> handler) override { core_->on_lease_in_doubt(std::move(handler)); }
    void dropped(std::uint64_t id) noexcept override { core_->dropped(id); }
    bool wait_for_drops(std::uint64_t generation, bool others_only, Clock::time_point deadline) noexcept override {
        try {
            start_once();  // subscribed, so that a 'dropped' notice wakes the wait
        } catch (const std::exception& e) {
            log::warning("lock '", core_->key(), "': ", e.what());
            return false;
        }
        return core_->wait_for_drops(generation, others_only, deadline);
    }

private:
    void start_once() {
        std::call_once(started_, [&] { core_->start(); });
    }
    std::shared_ptr<redis::Core> core_;
    std::once_flag started_;
};

}  // namespace

std::unique_ptr<Backend> make_redis_backend(const Options& options) {
    redis::Endpoint endpoint = redis::parse_url(options.redis_url.empty() ? default_redis_url() : options.redis_url);
    if (!options.redis_password.empty()) endpoint.password = options.redis_password;
    return std::make_unique<RedisBackend>(options, std::move(endpoint));
}

}  // namespace h5swmrfs::lock
