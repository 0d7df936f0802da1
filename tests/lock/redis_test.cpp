// Lock tests against a real redis (with_redis.py starts one and sets H5SWMRFS_TEST_REDIS):
// round trips, the process layer's sharing and idle keeping, break, a lost or rolled-back state,
// timeouts, cache drops.
#include <catch2/catch.hpp>

#include "drop_recorder.h"
#include "lock/admin.h"
#include "lock/lock.h"
#include "lock/redis_connection.h"
#include "lock/redis_scripts.h"
#include "lock/redis_url.h"
#include "error_code.h"
#include "util/error.h"

#include <unistd.h>

#include <atomic>
#include <condition_variable>
#include <cstdlib>
#include <iostream>
#include <map>
#include <sstream>
#include <thread>
#include <vector>

using namespace h5swmrfs;
using namespace std::chrono_literals;
using h5swmrfs::locktest::DropRecorder;
using Clock = std::chrono::steady_clock;

using h5swmrfs::test::error_code_of;

namespace {

std::string redis_url() {
    const char* url = std::getenv("H5SWMRFS_TEST_REDIS");
    if (!url) throw std::runtime_error("H5SWMRFS_TEST_REDIS not set (run through with_redis.py)");
    return url;
}

// Each test case its own key, as redis-plus-plus's tests give each case its own prefix.
lock::Options options_for(const std::string& key) {
    lock::Options o;
    o.key = "redis-test:" + key;
    o.redis_url = redis_url();
    o.lease = 2000ms;
    o.timeout = 5000ms;
    o.holder_label = "redis_test";
    return o;
}

// A lock of a caching process (a mount that lets the kernel cache): its released shared holds
// are drops, recorded by `recorder` (which must outlive the lock, whose threads call it).
std::unique_ptr<lock::Lock> caching_lock(const lock::Options& options, DropRecorder& recorder) {
    auto lock = lock::make_lock(options);
    lock->on_shared_released(recorder.handler());
    return lock;
}

lock::redis::Connection admin() { return lock::redis::Connection(lock::redis::parse_url(redis_url()), 2000ms); }

std::map<std::string, long> command_calls(lock::redis::Connection& c) {
    auto reply = c.command({"INFO", "commandstats"});
    std::istringstream in(lock::redis::string_of(reply.get()));
    std::map<std::string, long> calls;
    std::string line;
    while (std::getline(in, line)) {
        // cmdstat_evalsha:calls=2,usec=...
        auto colon = line.find(':');
        if (!line.starts_with("cmdstat_") || colon == std::string::npos) continue;
        auto at = line.find("calls=", colon);
        calls[line.substr(8, colon - 8)] = std::stol(line.substr(at + 6));
    }
    return calls;
}

template <class F>
bool eventually(F condition, Clock::duration timeout) {
    const auto deadline = Clock::now() + timeout;
    while (!condition()) {
        if (Clock::now() >= deadline) return false;
        std::this_thread::sleep_for(5ms);
    }
    return true;
}

// A writer's wait_for_drops on a thread of its own.
class DropWait {
public:
    DropWait(lock::Lock& lock, std::uint64_t generation, bool others_only)
        : thread_([&lock, generation, others_only, this] {
              lock.wait_for_drops(generation, others_only);
              ended_at_ = Clock::now();
              done_ = true;
          }) {}
    ~DropWait() {
        if (thread_.joinable()) thread_.join();
    }
    bool done() const { return done_; }
    Clock::time_point join() {
        thread_.join();
        return ended_at_;
    }

private:
    std::atomic<bool> done_{false};
    Clock::time_point ended_at_;
    std::thread thread_;
};

template <class Duration>
long long ms(Duration d) {
    return std::chrono::duration_cast<std::chrono::milliseconds>(d).count();
}

}  // namespace

TEST_CASE("round trips of uncontended acquire and release") {
    auto options = options_for("round-trips");
    options.keep_idle = 0ms;
    auto lock = lock::make_lock(options);
    lock->acquire(lock::Mode::Exclusive).reset();  // warm up: connections, subscription
    auto c = admin();
    for (auto mode : {lock::Mode::Shared, lock::Mode::Exclusive}) {
        c.command({"CONFIG", "RESETSTAT"});
        lock->acquire(mode).reset();
        auto calls = command_calls(c);
        long from_client = 0, total = 0;
        std::string table;
        for (auto& [name, n] : calls) {
            if (name == "info" || name == "config|resetstat" || name == "config") continue;
            total += n;
            if (name == "evalsha" || name == "eval") from_client += n;
            table += " " + name + "=" + std::to_string(n);
        }
        std::cout << (mode == lock::Mode::Shared ? "shared" : "exclusive") << " acquire+release: " << from_client
                  << " round trips (EVALSHA); commandstats:" << table << "\n";
        CHECK(calls["evalsha"] == 2);
        CHECK(calls.count("eval") == 0);
        CHECK(from_client == 2);
    }
}

TEST_CASE("threads of one process share one shared hold") {
    auto options = options_for("share");
    auto lock = lock::make_lock(options);
    constexpr int threads = 6;
    std::atomic<int> ready{0};
    std::atomic<std::size_t> holders{0};
    std::vector<std::thread> pool;
    for (int i = 0; i < threads; ++i) {
        pool.emplace_back([&] {
            auto hold = lock->acquire(lock::Mode::Shared);
            ++ready;
            while (ready.load() < threads) std::this_thread::yield();
            if (holders == 0) holders = lock::read_status(options).holders.size();
            hold->check_valid();
        });
    }
    for (auto& t : pool) t.join();
    CHECK(holders.load() == 1);
}

TEST_CASE("a kept idle shared hold is given up as soon as a writer waits elsewhere") {
    auto options = options_for("keep-idle");
    options.keep_idle = 60s;
    auto reader = lock::make_lock(options);
    const auto generation = reader->acquire(lock::Mode::Shared)->generation();
    CHECK(lock::read_status(options).holders.size() == 1);  // kept
    {
        // Kept: the next operation needs no round trip.
        auto c = admin();
        c.command({"CONFIG", "RESETSTAT"});
        reader->acquire(lock::Mode::Shared).reset();
        CHECK(command_calls(c).count("evalsha") == 0);
    }
    auto writer = lock::make_lock(options);
    const auto start = Clock::now();
    auto hold = writer->acquire(lock::Mode::Exclusive);
    const auto waited = Clock::now() - start;
    std::cout << "writer waited " << std::chrono::duration_cast<std::chrono::microseconds>(waited).count()
              << " us for an idle kept shared hold\n";
    CHECK(waited < 1000ms);
    CHECK(hold->generation() == generation + 1);
    CHECK(hold->fence() >= 1);
}

TEST_CASE("an in-flight operation finishes before the kept hold goes; later readers queue") {
    auto options = options_for("in-flight");
    auto reader = lock::make_lock(options);
    auto writer = lock::make_lock(options);
    auto in_flight = reader->acquire(lock::Mode::Shared);
    std::atomic<bool> written{false};
    std::thread w([&] {
        auto hold = writer->acquire(lock::Mode::Exclusive);
        written = true;
    });
    REQUIRE(eventually([&] { return lock::read_status(options).waiting.size() == 1; }, 2s));
    // a new operation in the reader's process must not join the draining hold
    std::atomic<bool> late_reader_in{false};
    std::thread r([&] {
        auto hold = reader->acquire(lock::Mode::Shared);
        late_reader_in = true;
        CHECK(written.load());
    });
    std::this_thread::sleep_for(100ms);
    CHECK_FALSE(written.load());
    CHECK_FALSE(late_reader_in.load());
    in_flight->check_valid();
    in_flight.reset();
    w.join();
    r.join();
    CHECK(late_reader_in.load());
}

TEST_CASE("break: the broken hold fails, and nobody gets the lock before its lease ends") {
    auto options = options_for("break");
    options.lease = 1500ms;
    auto lock = lock::make_lock(options);
    auto hold = lock->acquire(lock::Mode::Exclusive);
    hold->check_valid();
    auto before = lock::read_status(options);
    REQUIRE(before.holders.size() == 1);
    const auto broken_at = Clock::now();
    const lock::BreakResult broke = lock::break_lock(options);
    CHECK(broke.holds == 1);
    CHECK(broke.free_in_seconds > 0);
    CHECK(broke.free_in_seconds <= 1.5);
    auto status = lock::read_status(options);
    REQUIRE(status.holders.size() == 1);
    CHECK(status.holders[0].state == "broken");

    // Another process's writer and reader wait until the broken lease has run out by the
    // server's clock: the broken holder may still be writing until then.
    auto other = lock::make_lock(options);
    auto next = other->acquire(lock::Mode::Exclusive);
    const auto waited = Clock::now() - broken_at;
    CHECK(waited >= std::chrono::duration<double>(broke.free_in_seconds) - 20ms);
    CHECK(error_code_of([&] { hold->check_valid(); }) == EIO);  // the broken holder knows by now
    CHECK(error_code_of([&] { hold->check_valid(); }) == EIO);  // and stays invalid
    next->check_valid();
    next.reset();
    hold.reset();
    auto again = lock->acquire(lock::Mode::Exclusive);  // the key is usable again
    again->check_valid();
}

TEST_CASE("break: a broken shared hold keeps writers out, not readers, until its lease ends") {
    auto options = options_for("break-shared");
    options.lease = 1500ms;
    options.keep_idle = 0ms;
    auto reader = lock::make_lock(options);
    auto hold = reader->acquire(lock::Mode::Shared);
    const auto broken_at = Clock::now();
    const lock::BreakResult broke = lock::break_lock(options);
    REQUIRE(broke.holds == 1);
    auto other = lock::make_lock(options);
    other->acquire(lock::Mode::Shared)->check_valid();
    CHECK(Clock::now() - broken_at < 1000ms);
    other->acquire(lock::Mode::Exclusive)->check_valid();
    CHECK(Clock::now() - broken_at >= std::chrono::duration<double>(broke.free_in_seconds) - 20ms);
}

// What redis holds after losing its data (no persistence) or reloading an older snapshot is
// simulated here by deleting or restoring the lock's keys, and by recording another server
// process as the last one to serve the key (a restarted redis has a new run_id).
namespace {

using Snapshot = std::vector<std::pair<std::string, std::string>>;

// The lock's keys as a redis with RDB persistence would save them.
Snapshot snapshot_of(lock::redis::Connection& c, const lock::redis::KeyNames& keys) {
    Snapshot snapshot;
    for (const auto& key : keys.script_keys()) {
        auto dumped = c.command({"DUMP", key});
        if (dumped->type == REDIS_REPLY_STRING) snapshot.emplace_back(key, lock::redis::string_of(dumped.get()));
    }
    return snapshot;
}

void forget_all(lock::redis::Connection& c, const lock::redis::KeyNames& keys) {
    for (const auto& key : keys.script_keys()) c.command({"DEL", key});
}

// The keys as a redis process that reloaded `snapshot` has them; `new_process`: that process
// is another one than the one that served the key (false: as a redis user refused INFO sees it).
void roll_back(lock::redis::Connection& c, const lock::redis::KeyNames& keys, const Snapshot& snapshot,
               bool new_process = true) {
    forget_all(c, keys);
    for (const auto& [key, value] : snapshot) c.command({"RESTORE", key, "0", value});
    if (new_process) c.command({"HSET", keys.server, "run_id", "0000000000000000000000000000000000000000"});
}

}  // namespace

TEST_CASE("generations never repeat when redis loses or rolls back the lock's state") {
    auto options = options_for("lost-state");
    options.keep_idle = 0ms;
    auto lock = lock::make_lock(options);
    auto c = admin();
    const lock::redis::KeyNames keys(options.key);
    auto generation_of_write = [&] { return lock->acquire(lock::Mode::Exclusive)->generation(); };

    const auto first = generation_of_write();
    // Seeded from the server clock (µs): far above the number of grants ever made.
    CHECK(first > 1'000'000'000'000'000ULL);
    CHECK(generation_of_write() == first + 1);
    const Snapshot snapshot = snapshot_of(c, keys);
    std::vector<std::uint64_t> handed_out{first, first + 1};
    for (int i = 0; i < 5; ++i) handed_out.push_back(generation_of_write());

    SECTION("rolled back") { roll_back(c, keys, snapshot); }
    SECTION("lost") { forget_all(c, keys); }
    // Nothing is granted for one lease after the state was found lost or rolled back.
    const auto forgotten_at = Clock::now();
    const auto shared = lock->acquire(lock::Mode::Shared)->generation();
    CHECK(Clock::now() - forgotten_at >= options.lease - 20ms);
    const auto next = generation_of_write();
    for (auto g : handed_out) {
        CHECK(shared > g);
        CHECK(next > g);
    }
    CHECK(next == shared + 1);
}

TEST_CASE("after redis lost or rolled back the lock's state, nothing is granted before a hold it forgot ran out") {
    auto options = options_for("forgotten-hold");
    options.keep_idle = 0ms;
    auto c = admin();
    const lock::redis::KeyNames keys(options.key);
    auto holder = lock::make_lock(options);
    holder->acquire(lock::Mode::Exclusive).reset();
    const Snapshot snapshot = snapshot_of(c, keys);  // from before the hold below
    auto other = lock::make_lock(options);
    other->acquire(lock::Mode::Shared).reset();

    auto hold = holder->acquire(lock::Mode::Exclusive);
    // The holder checks its hold as a writer does before each step, until that fails.
    std::atomic<bool> stop{false};
    std::atomic<Clock::rep> last_valid{0};
    std::atomic<int> failure{0};
    std::thread writer([&] {
        while (!stop) {
            try {
                hold->check_valid();
                last_valid = Clock::now().time_since_epoch().count();
            } catch (const Error& e) {
                failure = e.code();
                return;
            }
            std::this_thread::sleep_for(2ms);
        }
    });
    std::this_thread::sleep_for(100ms);
    const auto forgotten_at = Clock::now();
    SECTION("a new redis process reloaded a snapshot from before the hold; the next writer never used the key") {
        roll_back(c, keys, snapshot);
        other = lock::make_lock(options);
    }
    SECTION("every key lost; the next writer used the key before") { forget_all(c, keys); }
    SECTION("every key lost; the next writer never used the key: it cannot tell a loss from a first use") {
        forget_all(c, keys);
        other = lock::make_lock(options);
    }
    auto next = other->acquire(lock::Mode::Exclusive);
    const auto granted_at = Clock::now();
    std::this_thread::sleep_for(50ms);  // a holder that still trusted its hold would pass a check now
    stop = true;
    writer.join();
    const auto waited = granted_at - forgotten_at;
    std::cout << "next writer granted " << std::chrono::duration_cast<std::chrono::milliseconds>(waited).count()
              << " ms after the lock's state was forgotten\n";
    CHECK(waited >= options.lease - 20ms);  // the forgotten hold's lease ran out first
    CHECK(failure.load() == EIO);           // its holder found out that the hold is gone
    CHECK(last_valid.load() < granted_at.time_since_epoch().count());  // before anyone else got in
    CHECK(error_code_of([&] { hold->check_valid(); }) == EIO);
    next->check_valid();
    next.reset();
    hold.reset();
}

TEST_CASE("after a loss found first by a process that never used the key, one that holds nothing now still tells it") {
    auto options = options_for("witness");
    options.keep_idle = 0ms;
    auto c = admin();
    const lock::redis::KeyNames keys(options.key);
    // It read under a hold and let it go (a mount that dropped its caches): nothing to renew.
    auto witness = lock::make_lock(options);
    witness->acquire(lock::Mode::Shared).reset();
    forget_all(c, keys);
    auto blind = lock::make_lock(options);
    const auto forgotten_at = Clock::now();
    blind->acquire(lock::Mode::Exclusive).reset();
    const auto waited = Clock::now() - forgotten_at;
    std::cout << "a writer that never used the key granted " << ms(waited) << " ms after the loss\n";
    CHECK(waited >= options.lease - 20ms);
}

TEST_CASE("a key's first use waits only for the holders a loss might have left to speak up") {
    auto options = options_for("first-use");
    options.keep_idle = 0ms;
    auto lock = lock::make_lock(options);
    const auto start = Clock::now();
    lock->acquire(lock::Mode::Shared).reset();
    const auto took = Clock::now() - start;
    std::cout << "first use of a key granted after " << std::chrono::duration_cast<std::chrono::milliseconds>(took).count()
              << " ms\n";
    CHECK(took >= std::min<std::chrono::milliseconds>(options.lease / 4, 500ms) - 20ms);
    CHECK(took < options.lease);
    // Then at once.
    const auto again = Clock::now();
    lock->acquire(lock::Mode::Exclusive).reset();
    CHECK(Clock::now() - again < 250ms);
}

TEST_CASE("a redis user refused INFO: new generations and a grace after a loss or a rollback this process sees") {
    auto c = admin();
    c.command({"ACL", "SETUSER", "locker", "on", ">pw", "~*", "&*", "+@all", "-@dangerous"});
    auto options = options_for("no-info");
    options.keep_idle = 0ms;
    const std::string url = redis_url();
    options.redis_url = "redis://locker:pw@" + url.substr(url.find("://") + 3);
    auto lock = lock::make_lock(options);
    const lock::redis::KeyNames keys(options.key);
    std::vector<std::uint64_t> handed_out;
    for (int i = 0; i < 3; ++i) handed_out.push_back(lock->acquire(lock::Mode::Exclusive)->generation());
    const Snapshot snapshot = snapshot_of(c, keys);
    handed_out.push_back(lock->acquire(lock::Mode::Exclusive)->generation());
    // Without INFO the server cannot tell a new redis process; this process can tell that the
    // key is behind what it saw.
    SECTION("lost") { forget_all(c, keys); }
    SECTION("rolled back") { roll_back(c, keys, snapshot, false); }
    const auto forgotten_at = Clock::now();
    const auto next = lock->acquire(lock::Mode::Exclusive)->generation();
    CHECK(Clock::now() - forgotten_at >= options.lease - 20ms);
    for (auto g : handed_out) CHECK(next > g);
    c.command({"ACL", "DELUSER", "locker"});
}

TEST_CASE("an acquire waits no longer than the lock timeout when redis stops answering") {
    auto options = options_for("stopped");
    options.lease = 15000ms;  // commands time out after lease/4 = 3.75 s on their own
    options.timeout = 1000ms;
    options.keep_idle = 0ms;
    auto lock = lock::make_lock(options);
    lock->acquire(lock::Mode::Shared)->check_valid();  // connected and subscribed
    auto c = admin();
    // CLIENT PAUSE holds every client's commands (even an UNPAUSE), as a stopped (SIGSTOP)
    // server would.
    c.command({"CLIENT", "PAUSE", "3000", "ALL"});
    const auto start = Clock::now();
    CHECK(error_code_of([&] { lock->acquire(lock::Mode::Shared); }) == EIO);
    const auto took = Clock::now() - start;
    CHECK(took >= 900ms);
    CHECK(took < 1500ms);
    lock::redis::Connection(lock::redis::parse_url(redis_url()), 5000ms).command({"PING"});  // the pause is over
}

TEST_CASE("timeouts: EBUSY, and a writer that gives up leaves the queue") {
    auto options = options_for("timeout");
    auto holder = lock::make_lock(options);
    auto hold = holder->acquire(lock::Mode::Shared);
    auto impatient_options = options;
    impatient_options.timeout = 300ms;
    auto impatient = lock::make_lock(impatient_options);
    const auto start = Clock::now();
    CHECK(error_code_of([&] { impatient->acquire(lock::Mode::Exclusive); }) == EBUSY);
    CHECK(Clock::now() - start >= 290ms);
    auto status = lock::read_status(options);
    CHECK(status.waiting.empty());
    CHECK(status.holders.size() == 1);
    // readers are not held back by a writer that left
    auto other = lock::make_lock(options);
    other->acquire(lock::Mode::Shared)->check_valid();
}

TEST_CASE("leases are renewed while a hold lives") {
    auto options = options_for("renew");
    options.lease = 600ms;
    auto lock = lock::make_lock(options);
    auto hold = lock->acquire(lock::Mode::Exclusive);
    const auto until = Clock::now() + 2s;  // more than three leases
    while (Clock::now() < until) {
        hold->check_valid();
        std::this_thread::sleep_for(50ms);
    }
    auto status = lock::read_status(options);
    REQUIRE(status.holders.size() == 1);
    CHECK(status.holders[0].lease_left_seconds > 0.1);
    CHECK(status.holders[0].age_seconds >= 1.9);
}

// The waits below end on an event (a release, a drop reported) or else after a lease (2 s)
// or the timeout (5 s): the bound of 1 s tells the two apart on a machine loaded enough to
// delay a wake-up by a few hundred milliseconds.
TEST_CASE("drops: a caching process's shared release records a drop; a later writer waits until it is dropped") {
    auto options = options_for("drops-wait");
    options.keep_idle = 0ms;
    DropRecorder recorder;
    auto reader = caching_lock(options, recorder);
    auto writer = lock::make_lock(options);
    writer->acquire(lock::Mode::Exclusive).reset();

    const auto read_generation = reader->acquire(lock::Mode::Shared)->generation();
    REQUIRE(recorder.wait_for(1, 2s));
    const lock::Drop drop = recorder.drops()[0];
    CHECK(recorder.threads()[0] != std::this_thread::get_id());  // a lock thread, not the operation's
    CHECK(drop.id != 0);
    CHECK(drop.generation == read_generation);
    auto status = lock::read_status(options);
    CHECK(status.holders.empty());
    REQUIRE(status.drops.size() == 1);
    CHECK(status.drops[0].state == "dropping");
    CHECK(status.drops[0].generation == read_generation);
    CHECK(status.drops[0].pid == getpid());
    CHECK(status.drops[0].label == "redis_test");
    CHECK(status.drops[0].lease_left_seconds > 0);

    // The drop does not keep writers out; it keeps the writer from returning.
    const auto write_generation = writer->acquire(lock::Mode::Exclusive)->generation();
    CHECK(write_generation == read_generation + 1);
    DropWait wait(*writer, write_generation, false);
    std::this_thread::sleep_for(300ms);
    CHECK_FALSE(wait.done());
    const auto dropped_at = Clock::now();
    reader->dropped(drop.id);
    const auto ended_at = wait.join();
    std::cout << "a writer's wait ended " << ms(ended_at - dropped_at) << " ms after dropped()\n";
    CHECK(ended_at - dropped_at < 1000ms);
    CHECK(lock::read_status(options).drops.empty());
    reader->dropped(drop.id);  // idempotent
    reader->dropped(12345);    // unknown: nothing
}

TEST_CASE("drops: a writer does not wait for a drop of its own generation or later") {
    auto options = options_for("drops-newer");
    options.keep_idle = 0ms;
    DropRecorder recorder;  // outlives the locks, whose threads call it
    auto writer = lock::make_lock(options);
    auto reader = caching_lock(options, recorder);
    const auto write_generation = writer->acquire(lock::Mode::Exclusive)->generation();
    // Read after the write: the reader's cache already has the change.
    CHECK(reader->acquire(lock::Mode::Shared)->generation() == write_generation);
    REQUIRE(recorder.wait_for(1, 2s));
    REQUIRE(lock::read_status(options).drops.size() == 1);
    const auto start = Clock::now();
    writer->wait_for_drops(write_generation, false);
    CHECK(Clock::now() - start < 1000ms);
    CHECK(lock::read_status(options).drops.size() == 1);
}

TEST_CASE("drops: others_only leaves the waiting process's own drops out; the wait ends at the lock timeout") {
    auto options = options_for("drops-own");
    options.keep_idle = 0ms;
    options.timeout = 600ms;
    DropRecorder recorder;
    auto mount = caching_lock(options, recorder);
    const auto generation = mount->acquire(lock::Mode::Shared)->generation();
    REQUIRE(recorder.wait_for(1, 2s));
    auto start = Clock::now();
    mount->wait_for_drops(generation + 1, true);
    CHECK(Clock::now() - start < 1000ms);
    // Its own drop counts without others_only, and for everybody else: bounded by the timeout.
    start = Clock::now();
    mount->wait_for_drops(generation + 1, false);
    auto waited = Clock::now() - start;
    CHECK(waited >= 550ms);
    CHECK(waited < 1500ms);
    auto other = lock::make_lock(options);
    start = Clock::now();
    other->wait_for_drops(generation + 1, true);
    waited = Clock::now() - start;
    CHECK(waited >= 550ms);
    CHECK(waited < 1500ms);
}

// A process that recorded a drop and then stopped (died, or paused): the drop is made here
// by the scripts themselves, and nothing renews it.
TEST_CASE("drops: a drop nobody renews ends with its lease") {
    auto options = options_for("drops-lease");
    auto c = admin();
    const lock::redis::KeyNames keys(options.key);
    const std::string token = "0123456789abcdef0123456789abcdef";
    lock::make_lock(options)->acquire(lock::Mode::Shared).reset();  // past the key's first use (a grant at once below)
    auto acquired = lock::redis::acquire_script().run(c, keys, {"S", token, "800", "{\"host\":\"h\",\"pid\":1,\"label\":\"gone\"}"});
    REQUIRE(lock::redis::integer_of(acquired->element[0]) == 1);
    const auto released_at = Clock::now();
    CHECK(lock::redis::integer_of(lock::redis::release_script().run(c, keys, {token, "drop", "800"}).get()) == 2);
    auto status = lock::read_status(options);
    REQUIRE(status.drops.size() == 1);
    CHECK(status.drops[0].label == "gone");
    auto writer = lock::make_lock(options);
    const auto generation = writer->acquire(lock::Mode::Exclusive)->generation();
    writer->wait_for_drops(generation, false);
    const auto waited = Clock::now() - released_at;
    std::cout << "a writer's wait for an unrenewed drop (lease 800 ms) ended after " << ms(waited) << " ms\n";
    CHECK(waited >= 750ms);
    CHECK(waited < 1500ms);
    CHECK(lock::read_status(options).drops.empty());
    // Reporting it now finds nothing.
    CHECK(lock::redis::integer_of(lock::redis::dropped_script().run(c, keys, {token}).get()) == 0);
}

TEST_CASE("drops: the renewer keeps a pending drop alive until it is dropped") {
    auto options = options_for("drops-renewed");
    options.lease = 600ms;
    options.keep_idle = 0ms;
    DropRecorder recorder;
    auto reader = caching_lock(options, recorder);
    const auto generation = reader->acquire(lock::Mode::Shared)->generation();
    REQUIRE(recorder.wait_for(1, 2s));
    std::this_thread::sleep_for(1500ms);  // two and a half leases
    auto status = lock::read_status(options);
    REQUIRE(status.drops.size() == 1);
    CHECK(status.drops[0].lease_left_seconds > 0.1);
    auto writer = lock::make_lock(options);
    DropWait wait(*writer, generation + 1, false);
    std::this_thread::sleep_for(200ms);
    CHECK_FALSE(wait.done());
    reader->dropped(recorder.drops()[0].id);
    wait.join();
    CHECK(lock::read_status(options).drops.empty());
}

TEST_CASE("drops: a hold that is gone records nothing, and the handler is called all the same") {
    static int run = 0;
    auto options = options_for("drops-gone-" + std::to_string(run++));
    options.keep_idle = 0ms;
    DropRecorder recorder;
    auto reader = caching_lock(options, recorder);
    auto hold = reader->acquire(lock::Mode::Shared);
    auto status = lock::read_status(options);
    REQUIRE(status.holders.size() == 1);
    SECTION("purged: its lease ran out") {
        auto c = admin();
        const lock::redis::KeyNames keys(options.key);
        c.command({"ZADD", keys.leases, "XX", "1", status.holders[0].token});
    }
    SECTION("broken") {
        REQUIRE(lock::break_lock(options).holds == 1);
    }
    hold.reset();
    REQUIRE(recorder.wait_for(1, 2s));
    CHECK(lock::read_status(options).drops.empty());
    reader->dropped(recorder.drops()[0].id);  // a no-op
    auto writer = lock::make_lock(options);
    auto generation = writer->acquire(lock::Mode::Exclusive)->generation();
    const auto start = Clock::now();
    writer->wait_for_drops(generation, false);
    CHECK(Clock::now() - start < 1000ms);
}

TEST_CASE("drops: a writer gets the lock at once from an idle caching process, and returns once it dropped") {
    auto options = options_for("drops-writer");
    options.keep_idle = 60s;
    auto reader = lock::make_lock(options);
    std::vector<std::thread> droppers;
    std::mutex droppers_mutex;
    std::atomic<long long> dropped_at{0};
    reader->on_shared_released([&](const lock::Drop& drop) {
        std::lock_guard guard(droppers_mutex);
        droppers.emplace_back([&, drop] {  // emptying the caches takes a while
            std::this_thread::sleep_for(300ms);
            dropped_at = Clock::now().time_since_epoch().count();
            reader->dropped(drop.id);
        });
    });
    reader->acquire(lock::Mode::Shared).reset();
    CHECK(lock::read_status(options).holders.size() == 1);  // kept, no drop yet
    CHECK(lock::read_status(options).drops.empty());
    auto writer = lock::make_lock(options);
    const auto start = Clock::now();
    auto hold = writer->acquire(lock::Mode::Exclusive);
    CHECK(Clock::now() - start < 1000ms);
    const auto generation = hold->generation();
    hold.reset();
    writer->wait_for_drops(generation, false);
    const auto returned = Clock::now().time_since_epoch().count();
    CHECK(dropped_at.load() != 0);
    CHECK(returned >= dropped_at.load());
    std::lock_guard guard(droppers_mutex);
    for (auto& t : droppers) t.join();
}

TEST_CASE("lease in doubt: a caching process gives its kept shared hold up") {
    static int run = 0;  // a key of its own for each section: a broken hold outlives its section
    auto options = options_for("doubt-" + std::to_string(run++));
    options.lease = 1500ms;
    options.keep_idle = 60s;
    DropRecorder recorder;
    auto reader = caching_lock(options, recorder);
    std::atomic<int> writer_notices{0};
    reader->on_writer_waiting([&] { ++writer_notices; });
    const auto generation = reader->acquire(lock::Mode::Shared)->generation();
    REQUIRE(lock::read_status(options).holders.size() == 1);  // kept idle
    const auto start = Clock::now();

    SECTION("broken: its renewal is refused") {
        REQUIRE(lock::break_lock(options).holds == 1);
        REQUIRE(recorder.wait_for(1, 1500ms));  // within a renewal period (lease/3) and a bit
        std::cout << "a broken kept hold was dropped after " << ms(Clock::now() - start) << " ms\n";
        CHECK(lock::read_status(options).drops.empty());  // a broken hold records nothing
        // The next operation asks redis again (the break moved the generation).
        CHECK(reader->acquire(lock::Mode::Shared)->generation() == generation + 1);
    }
    SECTION("redis does not answer for a lease: renewals fail or come too late") {
        // A request waits lease/4 and is tried twice: a shorter pause could hide in one renewal.
        admin().command({"CLIENT", "PAUSE", "1500", "ALL"});
        REQUIRE(recorder.wait_for(1, 3s));
        std::cout << "a kept hold whose renewals failed was dropped after " << ms(Clock::now() - start) << " ms\n";
        CHECK(reader->acquire(lock::Mode::Shared)->generation() == generation);
    }
    SECTION("in use: drained, its users told, given up when they are done") {
        auto in_use = reader->acquire(lock::Mode::Shared);
        REQUIRE(lock::break_lock(options).holds == 1);
        REQUIRE(eventually([&] { return writer_notices.load() > 0; }, 1500ms));
        std::atomic<bool> joined{false};
        std::thread later([&] {
            CHECK(reader->acquire(lock::Mode::Shared)->generation() == generation + 1);  // not the drained one
            joined = true;
        });
        std::this_thread::sleep_for(100ms);
        CHECK_FALSE(joined.load());
        CHECK(recorder.drops().empty());
        in_use.reset();
        later.join();
        CHECK(recorder.wait_for(1, 1s));
    }
}

TEST_CASE("lease in doubt: a process that does not cache keeps its idle hold") {
    auto options = options_for("doubt-plain");
    options.lease = 1500ms;
    options.keep_idle = 60s;
    auto reader = lock::make_lock(options);
    const auto generation = reader->acquire(lock::Mode::Shared)->generation();
    admin().command({"CLIENT", "PAUSE", "700", "ALL"});
    std::this_thread::sleep_for(900ms);
    CHECK(reader->acquire(lock::Mode::Shared)->generation() == generation);
    auto status = lock::read_status(options);
    CHECK(status.holders.size() == 1);
}
