// The redis backend: grants by Lua script (redis_scripts.cpp), leases kept alive by a
// renewer thread, waits woken by a subscriber thread. docs/LOCKING.md is the protocol.
//
// Threads: callers of acquire/release; the renewer (extends every tracked lease each
// lease/3); the subscriber (pub/sub on the key's channel). Lock order: tracked_mutex_
// before subscriber_mutex_ (the renewer looks at stopping_ under both); no redis call is
// made while holding either.
#include "lock/backend.h"
#include "lock/identity.h"
#include "lock/redis_scripts.h"
#include "util/error.h"
#include "util/log.h"

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <cstdlib>
#include <map>
#include <mutex>
#include <thread>

namespace h5swmrfs::lock {
namespace {

using namespace std::chrono_literals;
using redis::Connection;
using redis::Failure;
using redis::RedisError;
using redis::ReplyPtr;
using std::chrono::milliseconds;

// The longest a waiter sleeps without news; a lost notification costs at most this.
constexpr milliseconds max_quiet_wait = 2000ms;
// How long a release waits on redis. One that does not arrive costs the others the rest
// of its lease, which nobody renews; one that waited longer would hold up the operation
// that gives the hold back (a kept shared hold goes right before the next acquire).
constexpr milliseconds release_wait = 500ms;
// The shortest time a request to redis is given, even near a deadline.
constexpr milliseconds min_request = 50ms;

std::string seconds_text(Clock::duration d) {
    auto ms = std::chrono::duration_cast<milliseconds>(d).count();
    return std::to_string(ms / 1000) + "." + std::to_string((ms % 1000) / 100) + " s";
}

// Counts "something changed" notices; a waiter remembers the count before it asks redis
// and sleeps only while it has not moved, so no notice between the two is lost.
class Events {
public:
    std::uint64_t seen() {
        std::lock_guard lock(mutex_);
        return count_;
    }
    void bump() {
        {
            std::lock_guard lock(mutex_);
            ++count_;
        }
        changed_.notify_all();
    }
    void wait(std::uint64_t seen, Clock::time_point until) {
        std::unique_lock lock(mutex_);
        changed_.wait_until(lock, until, [&] { return count_ != seen; });
    }

private:
    std::mutex mutex_;
    std::condition_variable changed_;
    std::uint64_t count_ = 0;
};

// What this process knows about one of its entries in redis (a hold or a waiting writer).
struct Entry {
    std::string token;
    Mode mode = Mode::Shared;
    std::uint64_t generation = 0;
    std::uint64_t fence = 0;
    std::atomic<bool> waiting{true};  // a waiting writer: renewed, never "lost"
    std::atomic<bool> lost{false};
    std::atomic<Clock::rep> valid_until{0};       // steady clock: our lease is certain until then
    std::atomic<std::uint64_t> confirmed_epoch{0};  // connection epoch the server last confirmed it in
};

class Core : public std::enable_shared_from_this<Core> {
public:
    Core(const Options& options, redis::Endpoint endpoint)
        : options_(options),
          keys_(options.key),
          pool_(std::move(endpoint), std::clamp<milliseconds>(options.lease / 4, 250ms, 5000ms)) {}

    void start();
    void stop() noexcept;

    std::unique_ptr<BackendHold> acquire(Mode mode, Clock::time_point deadline);
    // Gives the entry back, waiting for redis at most `wait`.
    void release(const std::shared_ptr<Entry>& entry, milliseconds wait = release_wait) noexcept;
    void check_valid(Entry& entry) const;
    void check_reachable();
    std::uint64_t current_generation();
    void on_writer_waiting(std::function<void()> handler) { writer_waiting_ = std::move(handler); }

private:
    // A lease is trusted for 4/5 of its length from the moment the request that set it was
    // sent (the server's TIME can only be later): the rest covers clock-rate differences.
    Clock::duration trusted_for() const { return options_.lease * 4 / 5; }
    Clock::duration renew_every() const { return options_.lease / 3; }

    // Runs a script, once more on a fresh connection when the first one turned out dead
    // (a pooled connection to a redis that has restarted). Every script is idempotent.
    // Neither attempt waits for the server past `deadline`.
    ReplyPtr run(const redis::Script& script, const std::vector<std::string>& args,
                 Clock::time_point deadline = Clock::time_point::max());

    void track(const std::shared_ptr<Entry>& entry);
    void untrack(const std::string& token);
    void renewer_loop();
    void subscriber_loop();
    bool subscribe_once(milliseconds& backoff);
    void connection_lost();

    const Options options_;
    const redis::KeyNames keys_;
    redis::Pool pool_;
    Events events_;
    std::function<void()> writer_waiting_;
    // +1 whenever the subscriber's connection fails: redis may have restarted and forgotten
    // our entries, so every hold must be confirmed again before it is trusted.
    std::atomic<std::uint64_t> epoch_{1};
    std::atomic<bool> warned_blind_{false};

    std::mutex tracked_mutex_;
    std::condition_variable tracked_changed_;
    std::map<std::string, std::shared_ptr<Entry>> tracked_;
    bool renew_now_ = false;
    Clock::time_point next_renewal_ = Clock::time_point::max();

    std::mutex subscriber_mutex_;
    std::condition_variable stop_requested_;
    // The subscriber thread's connection; only that thread replaces or drops it, and stop()
    // shuts it down (under subscriber_mutex_) to wake that thread.
    std::unique_ptr<Connection> subscriber_;
    bool stopping_ = false;  // guarded by subscriber_mutex_ and tracked_mutex_ (both set it)
    std::thread renewer_;
    std::thread subscriber_thread_;
};

class RedisHold : public BackendHold {
public:
    RedisHold(std::shared_ptr<Core> core, std::shared_ptr<Entry> entry) : core_(std::move(core)), entry_(std::move(entry)) {}
    ~RedisHold() override { core_->release(entry_); }
    Mode mode() const noexcept override { return entry_->mode; }
    std::uint64_t generation() const noexcept override { return entry_->generation; }
    std::uint64_t fence() const noexcept override { return entry_->fence; }
    void check_valid() const override { core_->check_valid(*entry_); }

private:
    std::shared_ptr<Core> core_;
    std::shared_ptr<Entry> entry_;
};

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

ReplyPtr Core::run(const redis::Script& script, const std::vector<std::string>& args, Clock::time_point deadline) {
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
    const std::vector<std::string> args{mode == Mode::Shared ? "S" : "X", entry->token,
                                        std::to_string(options_.lease.count()), owner_json(options_.holder_label)};
    const Clock::time_point started = Clock::now();
    std::string unreachable;  // the last connection failure, while the last attempt failed
    milliseconds backoff = 50ms;
    bool enqueued = false;
    for (;;) {
        const std::uint64_t seen = events_.seen();
        const std::uint64_t epoch = epoch_.load();
        const Clock::time_point sent = Clock::now();
        Clock::time_point retry_at;
        try {
            ReplyPtr reply = run(redis::acquire_script(), args, deadline);
            if (reply->type != REDIS_REPLY_ARRAY || reply->elements != 6)
                throw RedisError(Failure::Reply, "unexpected reply to the acquire script");
            if (redis::integer_of(reply->element[5]) == 1 && !warned_blind_.exchange(true))
                log::warning("lock '", options_.key, "': the redis user may not run INFO (give it +info): a redis "
                             "restart that reloads an older snapshot cannot be recognised, and the generation may "
                             "then repeat");
            const long long restarted = redis::integer_of(reply->element[4]);
            if (restarted == 2)
                log::info("lock '", options_.key, "': first use of the lock on this redis (or redis lost its data)");
            if (restarted == 1)
                log::warning("lock '", options_.key, "': redis at ", pool_.endpoint().describe(),
                             " serves this lock from a new server process (restarted, or failed over): holds it no "
                             "longer has are lost, and the generation moved past every earlier one");
            if (redis::integer_of(reply->element[0]) == 1) {
                entry->generation = static_cast<std::uint64_t>(redis::integer_of(reply->element[1]));
                entry->fence = static_cast<std::uint64_t>(redis::integer_of(reply->element[2]));
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
            const milliseconds retry_after{redis::integer_of(reply->element[3])};
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

void Core::release(const std::shared_ptr<Entry>& entry, milliseconds wait) noexcept {
    untrack(entry->token);
    try {
        ReplyPtr reply = run(redis::release_script(), {entry->token}, Clock::now() + wait);
        if (redis::integer_of(reply.get()) == 0 && !entry->waiting && !entry->lost)
            log::warning("lock '", options_.key, "': hold had already expired when released");
    } catch (const std::exception& e) {
        log::warning("lock '", options_.key, "': release failed (its lease will run out): ", e.what());
    }
}

void Core::check_valid(Entry& entry) const {
    if (entry.lost) throw Error(EIO, "lock '" + options_.key + "': hold lost (lease ran out or the lock was broken)");
    if (Clock::now().time_since_epoch().count() >= entry.valid_until.load()) {
        entry.lost = true;
        log::warning("lock '", options_.key, "': lease could not be renewed in time; hold given up");
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
                pool_.with([&](Connection& c) { return redis::integer_of(c.command({"GET", keys_.generation}).get()); }));
        } catch (const RedisError& e) {
            if (e.failure() != Failure::Unreachable || attempt == 1) throw;
        }
    }
}

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
    for (;;) {
        auto due = [&] { return renew_now_ || (!tracked_.empty() && Clock::now() >= next_renewal_); };
        if (tracked_.empty()) tracked_changed_.wait(lock, [&] { return renew_now_ || !tracked_.empty(); });
        else tracked_changed_.wait_until(lock, next_renewal_, due);
        {
            std::lock_guard stop_lock(subscriber_mutex_);
            if (stopping_) return;
        }
        if (!due()) continue;
        renew_now_ = false;
        if (tracked_.empty()) continue;
        std::vector<std::shared_ptr<Entry>> entries;
        std::vector<std::string> args{std::to_string(options_.lease.count())};
        for (auto& [token, entry] : tracked_) {
            entries.push_back(entry);
            args.push_back(token);
        }
        lock.unlock();
        const std::uint64_t epoch = epoch_.load();
        const Clock::time_point sent = Clock::now();
        bool ok = false;
        try {
            ReplyPtr reply = run(redis::renew_script(), args);
            if (reply->type != REDIS_REPLY_ARRAY || reply->elements != entries.size())
                throw RedisError(Failure::Reply, "unexpected reply to the renew script");
            for (std::size_t i = 0; i < entries.size(); ++i) {
                Entry& entry = *entries[i];
                if (redis::integer_of(reply->element[i]) == 1) {
                    Clock::rep until = (sent + trusted_for()).time_since_epoch().count();
                    if (until > entry.valid_until.load()) entry.valid_until = until;
                    entry.confirmed_epoch = epoch;
                } else if (!entry.waiting) {
                    if (!entry.lost.exchange(true))
                        log::warning("lock '", options_.key, "': hold is gone from redis (expired, broken or redis restarted)");
                }
            }
            ok = true;
        } catch (const std::exception& e) {
            log::warning("lock '", options_.key, "': lease renewal failed: ", e.what());
        }
        lock.lock();
        if (ok) {
            next_renewal_ = sent + renew_every();
            if (epoch_.load() != epoch) renew_now_ = true;  // a disconnect raced the renewal
        } else {
            next_renewal_ = Clock::now() + std::min<Clock::duration>(options_.lease / 10, 250ms);
        }
    }
}

void Core::connection_lost() {
    ++epoch_;
    {
        std::lock_guard lock(tracked_mutex_);
        renew_now_ = true;
    }
    tracked_changed_.notify_all();
    events_.bump();
}

// Connects and subscribes; true on success. Throws RedisError when it cannot.
bool Core::subscribe_once(milliseconds& backoff) {
    auto connection = std::make_unique<Connection>(pool_.endpoint(), pool_.timeout());
    connection->command({"SUBSCRIBE", keys_.channel});
    connection->set_timeout(0ms);
    {
        std::lock_guard lock(subscriber_mutex_);
        if (stopping_) return false;
        subscriber_ = std::move(connection);
    }
    backoff = 50ms;
    events_.bump();  // notices may have been missed while we were not subscribed
    return true;
}

void Core::subscriber_loop() {
    milliseconds backoff = 50ms;
    bool reported = false;
    for (;;) {
        Connection* connection = nullptr;
        {
            std::lock_guard lock(subscriber_mutex_);
            if (stopping_) break;
            connection = subscriber_.get();
        }
        try {
            if (!connection) {
                subscribe_once(backoff);
                if (reported) log::info("lock '", options_.key, "': redis reachable again");
                reported = false;
                continue;
            }
            ReplyPtr message = connection->read_reply();
            if (message->type == REDIS_REPLY_ARRAY && message->elements == 3 &&
                redis::string_of(message->element[0]) == "message") {
                if (redis::string_of(message->element[2]) == "writer") {
                    if (writer_waiting_) writer_waiting_();
                } else {
                    events_.bump();
                }
            }
        } catch (const std::exception& e) {
            {
                std::lock_guard lock(subscriber_mutex_);
                subscriber_.reset();  // `connection`: the one this thread read from
                if (stopping_) break;
            }
            connection_lost();
            if (!reported) log::warning("lock '", options_.key, "': event connection: ", e.what());
            reported = true;
            std::unique_lock lock(subscriber_mutex_);
            stop_requested_.wait_for(lock, backoff, [&] { return stopping_; });
            backoff = std::min<milliseconds>(backoff * 2, 1000ms);
        }
    }
    std::lock_guard lock(subscriber_mutex_);
    subscriber_.reset();
}

class RedisBackend : public Backend {
public:
    RedisBackend(const Options& options, redis::Endpoint endpoint)
        : core_(std::make_shared<Core>(options, std::move(endpoint))) {}
    ~RedisBackend() override { core_->stop(); }

    std::unique_ptr<BackendHold> acquire(Mode mode, Clock::time_point deadline) override {
        start_once();
        return core_->acquire(mode, deadline);
    }
    void check_reachable() override { core_->check_reachable(); }
    std::uint64_t current_generation() override { return core_->current_generation(); }
    void on_writer_waiting(std::function<void()> handler) override { core_->on_writer_waiting(std::move(handler)); }

private:
    void start_once() {
        std::call_once(started_, [&] { core_->start(); });
    }
    std::shared_ptr<Core> core_;
    std::once_flag started_;
};

}  // namespace

std::unique_ptr<Backend> make_redis_backend(const Options& options) {
    redis::Endpoint endpoint = redis::parse_url(options.redis_url.empty() ? default_redis_url() : options.redis_url);
    if (!options.redis_password.empty()) endpoint.password = options.redis_password;
    return std::make_unique<RedisBackend>(options, std::move(endpoint));
}

}  // namespace h5swmrfs::lock
