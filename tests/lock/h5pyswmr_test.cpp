// The h5pyswmr backend against a real redis (with_redis.py starts one and sets
// H5SWMRFS_TEST_REDIS): h5pySWMR's keys after each step, exclusion and writer preference
// between two processes' worth of backends, keys kept alive past their TTL, a waiting writer
// noticed at once, the generation, the break epoch. The protocol as a whole, beside real
// mounts and a Python client of it, is tests/e2e/test_h5pyswmr.py.
#include <catch2/catch.hpp>

#include "lock/admin.h"
#include "lock/h5pyswmr_protocol.h"
#include "lock/lock.h"
#include "lock/redis_connection.h"
#include "lock/redis_url.h"
#include "util/error.h"

#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <fstream>
#include <thread>

using namespace h5swmrfs;
using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

namespace {

std::string redis_url() {
    const char* url = std::getenv("H5SWMRFS_TEST_REDIS");
    if (!url) throw std::runtime_error("H5SWMRFS_TEST_REDIS not set (run through with_redis.py)");
    return url;
}

// Each test case its own file name F, so its own keys.
lock::Options options_for(const std::string& name, const std::string& data_file = "") {
    lock::Options o;
    o.backend = "h5pyswmr";
    o.key = "/h5pyswmr-test/" + name + ".h5";
    o.redis_url = redis_url();
    o.timeout = 5000ms;
    o.keep_idle = 0ms;
    o.data_file = data_file;
    return o;
}

lock::redis::Connection admin() { return lock::redis::Connection(lock::redis::parse_url(redis_url()), 2000ms); }

std::string get(const std::string& key) { return lock::redis::string_of(admin().command({"GET", key}).get()); }
long long counter(const std::string& key) { return lock::redis::integer_of(admin().command({"GET", key}).get()); }
long long pttl(const std::string& key) { return lock::redis::integer_of(admin().command({"PTTL", key}).get()); }
bool exists(const std::string& key) { return lock::redis::integer_of(admin().command({"EXISTS", key}).get()) == 1; }

template <class F>
bool eventually(F condition, Clock::duration timeout) {
    const auto deadline = Clock::now() + timeout;
    while (!condition()) {
        if (Clock::now() >= deadline) return false;
        std::this_thread::sleep_for(2ms);
    }
    return true;
}

void check_clean(const std::string& f) {
    for (const char* k : {"mutex1__", "mutex2__", "mutex3__", "r__", "w__"}) {
        INFO(k << f);
        CHECK_FALSE(exists(k + f));
    }
    CHECK(counter("readcount__" + f) == 0);
    CHECK(counter("writecount__" + f) == 0);
}

}  // namespace

TEST_CASE("h5pyswmr: a shared hold is h5pySWMR's read: readcount, w for the readers, no mutex left") {
    auto o = options_for("shared");
    const std::string& f = o.key;
    auto lock = lock::make_lock(o);
    {
        auto hold = lock->acquire(lock::Mode::Shared);
        CHECK(counter("readcount__" + f) == 1);
        CHECK(get("w__" + f) == "id_reader");
        CHECK(pttl("w__" + f) > 15000);
        CHECK(pttl("w__" + f) <= 20000);
        for (const char* k : {"mutex1__", "mutex3__", "r__"}) CHECK_FALSE(exists(k + f));
        hold->check_valid();
    }
    check_clean(f);
}

TEST_CASE("h5pyswmr: an exclusive hold is h5pySWMR's write: writecount, r for the writers, w its own") {
    auto o = options_for("exclusive");
    const std::string& f = o.key;
    auto lock = lock::make_lock(o);
    const long long gen_before = counter("h5swmrfs_gen__" + f);
    {
        auto hold = lock->acquire(lock::Mode::Exclusive);
        CHECK(counter("writecount__" + f) == 1);
        CHECK(get("r__" + f) == "id_writer");
        const std::string w = get("w__" + f);
        CHECK(w.starts_with("h5swmrfs:"));
        CHECK(w != "id_reader");
        CHECK_FALSE(exists("mutex2__" + f));
        CHECK(counter("h5swmrfs_gen__" + f) == gen_before + 1);
    }
    check_clean(f);
}

TEST_CASE("h5pyswmr: readers share, a writer waits for them, and readers that come after it wait for it") {
    auto o = options_for("preference");
    const std::string& f = o.key;
    auto reader1 = lock::make_lock(o);
    auto writer = lock::make_lock(o);
    auto reader2 = lock::make_lock(o);
    auto r1 = reader1->acquire(lock::Mode::Shared);
    std::atomic<bool> wrote{false}, read2{false}, read2_after_write{false};
    std::thread w([&] {
        auto hold = writer->acquire(lock::Mode::Exclusive);
        wrote = true;
        std::this_thread::sleep_for(200ms);
        CHECK_FALSE(read2.load());  // the later reader still waits
    });
    REQUIRE(eventually([&] { return get("r__" + f) == "id_writer"; }, 2s));  // the writer waits for w
    std::thread r([&] {
        auto hold = reader2->acquire(lock::Mode::Shared);
        read2 = true;
        read2_after_write = wrote.load();
    });
    std::this_thread::sleep_for(300ms);
    CHECK_FALSE(wrote.load());   // the first reader still reads
    CHECK_FALSE(read2.load());   // and the second waits behind the writer
    r1.reset();
    w.join();
    r.join();
    CHECK(read2_after_write.load());
    check_clean(f);
}

TEST_CASE("h5pyswmr: an acquire that times out leaves no key and no count behind") {
    auto o = options_for("timeout");
    o.timeout = 300ms;
    const std::string& f = o.key;
    auto holder = lock::make_lock(o);
    auto other = lock::make_lock(o);
    {
        auto x = holder->acquire(lock::Mode::Exclusive);
        CHECK_THROWS_AS(other->acquire(lock::Mode::Shared), Error);
        CHECK(counter("readcount__" + f) == 0);
        CHECK_FALSE(exists("mutex3__" + f));
    }
    {
        auto s = holder->acquire(lock::Mode::Shared);
        CHECK_THROWS_AS(other->acquire(lock::Mode::Exclusive), Error);
        CHECK(counter("writecount__" + f) == 0);
        CHECK_FALSE(exists("r__" + f));
        CHECK_FALSE(exists("mutex2__" + f));
    }
    check_clean(f);
}

TEST_CASE("h5pyswmr: a kept shared hold goes at once when writecount rises (an h5pySWMR writer waits)") {
    auto o = options_for("writer-waiting");
    o.keep_idle = 60s;
    const std::string& f = o.key;
    auto lock = lock::make_lock(o);
    std::atomic<int> notices{0};
    lock->on_writer_waiting([&] { ++notices; });
    { auto hold = lock->acquire(lock::Mode::Shared); }
    CHECK(counter("readcount__" + f) == 1);  // kept idle
    admin().command({"INCR", "writecount__" + f});  // what a waiting h5pySWMR writer did first
    // DECR, then w given back: both within the second.
    CHECK(eventually([&] { return counter("readcount__" + f) == 0 && !exists("w__" + f); }, 1s));
    admin().command({"DECR", "writecount__" + f});
    {
        auto hold = lock->acquire(lock::Mode::Shared);
        admin().command({"INCR", "writecount__" + f});
        CHECK(eventually([&] { return notices.load() > 0; }, 1s));  // the users of a hold in use hear of it
        admin().command({"DECR", "writecount__" + f});
    }
    check_clean(f);
}

TEST_CASE("h5pyswmr: held keys are kept alive past their TTL; a key taken away makes the hold fail") {
    auto kept = options_for("kept");
    auto taken = options_for("taken");
    auto lock1 = lock::make_lock(kept);
    auto lock2 = lock::make_lock(taken);
    std::atomic<int> doubts{0};
    auto s = lock1->acquire(lock::Mode::Shared);
    auto x = lock2->acquire(lock::Mode::Exclusive);
    admin().command({"PEXPIRE", "w__" + kept.key, "6000"});  // as if 14 s had passed
    admin().command({"PEXPIRE", "r__" + taken.key, "6000"});
    admin().command({"SET", "w__" + taken.key, "pid1_someone-else"});
    std::this_thread::sleep_for(6500ms);  // one keep-alive round (every 5 s) and past the 6 s
    CHECK(get("w__" + kept.key) == "id_reader");
    CHECK(pttl("w__" + kept.key) > 15000);
    CHECK(get("r__" + taken.key) == "id_writer");
    CHECK(pttl("r__" + taken.key) > 15000);
    s->check_valid();
    CHECK_THROWS_AS(x->check_valid(), Error);
    x.reset();
    CHECK(get("w__" + taken.key) == "pid1_someone-else");  // not ours: left alone
    admin().command({"DEL", "w__" + taken.key});
    s.reset();
    check_clean(kept.key);
    check_clean(taken.key);
}

TEST_CASE("h5pyswmr: the generation moves for another mount's change and for a change of the file alone") {
    char dir_template[] = "/tmp/h5pyswmr-test-XXXXXX";
    REQUIRE(::mkdtemp(dir_template));
    const std::string file = std::string(dir_template) + "/data.h5";
    std::ofstream(file) << "one";
    auto o = options_for("generation", file);
    auto mount1 = lock::make_lock(o);
    auto mount2 = lock::make_lock(o);
    auto shared_generation = [](lock::Lock& lock) { return lock.acquire(lock::Mode::Shared)->generation(); };

    const auto g1 = shared_generation(*mount1);
    CHECK(shared_generation(*mount1) == g1);  // nothing changed

    std::uint64_t gx = 0;
    {
        auto x = mount1->acquire(lock::Mode::Exclusive);
        gx = x->generation();
        std::ofstream(file, std::ios::app) << "two";
    }
    CHECK(gx > g1);
    // Its own change only: the same generation (what it changed is known to it).
    CHECK(shared_generation(*mount1) == gx);

    // Another mount's change that leaves the file's metadata alone: the counter tells.
    { auto x = mount2->acquire(lock::Mode::Exclusive); }
    const auto g2 = shared_generation(*mount1);
    CHECK(g2 != gx);
    CHECK(shared_generation(*mount1) == g2);

    // A program that only writes the file, same size, right after the last look.
    std::ofstream(file, std::ios::in | std::ios::out) << "ONE";
    CHECK(shared_generation(*mount1) != g2);

    // An exclusive hold after someone else's change: that change gets a number of its own,
    // so "every generation since mine was my own" is false.
    const auto g3 = shared_generation(*mount1);
    std::ofstream(file, std::ios::in | std::ios::out) << "uno";
    auto x = mount1->acquire(lock::Mode::Exclusive);
    CHECK(x->generation() >= g3 + 2);
    x.reset();
    std::remove(file.c_str());
    ::rmdir(dir_template);
}

TEST_CASE("h5pyswmr: a hold that outlives a break does not take back counts that are no longer its own") {
    auto o = options_for("break");
    const std::string& f = o.key;
    auto lock = lock::make_lock(o);
    auto hold = lock->acquire(lock::Mode::Shared);
    const lock::BreakResult broke = lock::break_lock(o);
    CHECK(broke.keys_deleted == 2);  // readcount and w
    check_clean(f);
    // An h5pySWMR reader comes after the break: it counts 1 and takes w for the readers.
    admin().command({"INCR", "readcount__" + f});
    admin().command({"SET", "w__" + f, "id_reader", "EX", "20"});
    hold.reset();  // the broken hold's release
    CHECK(counter("readcount__" + f) == 1);
    CHECK(get("w__" + f) == "id_reader");
    admin().command({"DEL", "readcount__" + f, "w__" + f});

    const lock::LockStatus status = lock::read_status(o);
    CHECK(status.backend == "h5pyswmr");
    REQUIRE(status.simple_locks.size() == 5);
    CHECK(status.counters.at(3).second >= 1);  // h5swmrfs_breaks
}

TEST_CASE("h5pyswmr: a key left without a TTL by a process that died after SETNX gets one") {
    auto o = options_for("no-ttl");
    o.timeout = 500ms;
    const std::string& f = o.key;
    admin().command({"SET", "mutex3__" + f, "pid1_dead"});
    auto lock = lock::make_lock(o);
    CHECK_THROWS_AS(lock->acquire(lock::Mode::Shared), Error);
    CHECK(pttl("mutex3__" + f) > 0);
    admin().command({"DEL", "mutex3__" + f});
    check_clean(f);
}

TEST_CASE("h5pyswmr: a key taken after a wait is trusted from the attempt that took it") {
    // A writer that waited longer than the trusted time for the readers must not start with
    // a hold that is already out of date.
    const std::string key = "w__/h5pyswmr-test/trust.h5";
    admin().command({"SET", key, "pid1_reader", "PX", "300"});
    lock::h5pyswmr::Steps steps(lock::redis::parse_url(redis_url()), 2000ms);
    const auto asked = Clock::now();
    const auto sent = steps.take(key, "mine", Clock::now() + 5s);
    CHECK(sent - asked >= 250ms);
    CHECK(Clock::now() - sent < 100ms);
    CHECK(steps.give(key, "mine"));
}
