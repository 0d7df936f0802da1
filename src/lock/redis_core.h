// The redis backend's shared state (Core), split over redis_backend.cpp (grants, releases,
// the Backend interface), redis_drops.cpp (cache drops), redis_renewer.cpp (the renewer
// thread) and redis_subscriber.cpp (the subscriber thread); nothing else includes it.
// docs/LOCKING.md is the protocol.
//
// Threads: callers of acquire/release; the renewer (extends every tracked lease, drops'
// too, each lease/3); the subscriber (pub/sub on the key's channel).
//
// Lock order: tracked_mutex_ before subscriber_mutex_. The renewer holds tracked_mutex_
// while it takes subscriber_mutex_ to look at stopping_, so no code may take tracked_mutex_
// while it holds subscriber_mutex_. The own mutexes of Events and of the Pool are leaves,
// never taken while either of those two is held. No redis call is made while holding
// tracked_mutex_ or subscriber_mutex_ (stop() only shuts the subscriber's socket down
// under subscriber_mutex_, which does not wait on redis).
#pragma once

#include "lock/backend.h"
#include "lock/redis_connection.h"
#include "lock/redis_scripts.h"

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace h5swmrfs::lock::redis {

using std::chrono::milliseconds;

// How long a release waits on redis. One that does not arrive costs the others the rest
// of its lease, which nobody renews; one that waited longer would hold up the operation
// that gives the hold back (a kept shared hold goes right before the next acquire).
constexpr milliseconds release_wait{500};
// The longest a waiter sleeps without news; a lost notification costs at most this.
constexpr milliseconds max_quiet_wait{2000};
// The shortest time a request to redis is given, even near a deadline.
constexpr milliseconds min_request{50};

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

// What this process knows about one of its entries in redis (a hold, a waiting writer, or
// a drop).
struct Entry {
    std::string token;
    Mode mode = Mode::Shared;
    std::uint64_t generation = 0;
    std::uint64_t fence = 0;
    std::atomic<bool> waiting{true};  // a waiting writer: renewed, never "lost"
    std::atomic<bool> lost{false};
    std::atomic<bool> dropping{false};  // released as a drop (or being): renewed until dropped
    std::atomic<Clock::rep> valid_until{0};       // steady clock: our lease is certain until then
    std::atomic<std::uint64_t> confirmed_epoch{0};  // connection epoch the server last confirmed it in
};

class Core : public std::enable_shared_from_this<Core> {
public:
    Core(const Options& options, Endpoint endpoint);

    void start();
    void stop() noexcept;
    const std::string& key() const noexcept { return options_.key; }

    std::unique_ptr<BackendHold> acquire(Mode mode, Clock::time_point deadline);
    // Gives the entry back, waiting for redis at most `wait`.
    void release(const std::shared_ptr<Entry>& entry, milliseconds wait = release_wait) noexcept;
    void check_valid(Entry& entry) const;
    void check_reachable();
    std::uint64_t current_generation();
    void on_writer_waiting(std::function<void()> handler) { writer_waiting_ = std::move(handler); }
    void on_lease_in_doubt(std::function<void()> handler) { lease_in_doubt_ = std::move(handler); }

    // Cache drops (redis_drops.cpp).
    Drop release_as_drop(const std::shared_ptr<Entry>& entry) noexcept;
    void dropped(std::uint64_t id) noexcept;
    bool wait_for_drops(std::uint64_t generation, bool others_only, Clock::time_point deadline) noexcept;
    // Reports every drop still pending as dropped: the process is letting go of the lock.
    void drop_all() noexcept;

private:
    // A lease is trusted for 4/5 of its length from the moment the request that set it was
    // sent (the server's TIME can only be later): the rest covers clock-rate differences.
    Clock::duration trusted_for() const { return options_.lease * 4 / 5; }
    Clock::duration renew_every() const { return options_.lease / 3; }

    // Runs a script, once more on a fresh connection when the first one turned out dead
    // (a pooled connection to a redis that has restarted). Every script is idempotent.
    // Neither attempt waits for the server past `deadline`.
    ReplyPtr run(const Script& script, const std::vector<std::string>& args,
                 Clock::time_point deadline = Clock::time_point::max());

    void remember_generation(std::uint64_t generation) noexcept;
    // Logs (once, until the next grant) that redis lost or rolled back the lock's state, as
    // `found_by` (an acquire, a renewal) learned.
    void warn_restarted(const char* found_by);
    void track(const std::shared_ptr<Entry>& entry);
    void untrack(const std::string& token);
    void renewer_loop();
    void subscriber_loop();
    bool subscribe_once(milliseconds& backoff);
    void connection_lost();
    // Has the renewer thread renew at once (also when it tracks nothing: what it saw
    // tells redis whether its state began again) and wakes the waiters.
    void renew_soon();
    void tell_lease_in_doubt() {
        if (lease_in_doubt_) lease_in_doubt_();
    }

    const Options options_;
    const KeyNames keys_;
    Pool pool_;
    Events events_;
    std::function<void()> writer_waiting_;
    std::function<void()> lease_in_doubt_;
    std::atomic<std::uint64_t> next_drop_id_{1};
    // +1 whenever the subscriber's connection fails: redis may have restarted and forgotten
    // our entries, so every hold must be confirmed again before it is trusted.
    std::atomic<std::uint64_t> epoch_{1};
    std::atomic<bool> warned_blind_{false};
    // The highest generation granted to this process on the key. The acquire script is told:
    // a key whose generation is lower lost or rolled back its state, which a redis that just
    // restarted without its data could not tell from a first use.
    std::atomic<std::uint64_t> seen_generation_{0};
    std::atomic<bool> warned_restarted_{false};

    // Lock order: tracked_mutex_, then subscriber_mutex_ (the top of this file says why).
    std::mutex tracked_mutex_;  // guards tracked_, drops_, renew_now_, next_renewal_
    std::condition_variable tracked_changed_;
    std::map<std::string, std::shared_ptr<Entry>> tracked_;
    // This process's drops by id, from the moment their release is sent until dropped(id)
    // (tracked_ too while redis has them, so that they are renewed).
    std::map<std::uint64_t, std::shared_ptr<Entry>> drops_;
    bool renew_now_ = false;
    Clock::time_point next_renewal_ = Clock::time_point::max();

    std::mutex subscriber_mutex_;  // guards subscriber_, stopping_
    std::condition_variable stop_requested_;
    // The subscriber thread's connection; only that thread replaces or drops it, and stop()
    // shuts it down (under subscriber_mutex_) to wake that thread.
    std::unique_ptr<Connection> subscriber_;
    bool stopping_ = false;  // set once, by stop()
    std::thread renewer_;
    std::thread subscriber_thread_;
};

}  // namespace h5swmrfs::lock::redis
