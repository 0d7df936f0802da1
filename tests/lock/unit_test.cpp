// Lock tests that need no redis: URL parsing, key and sidecar rules, SHA-1, make_lock's
// refusals, and the process layer over the local backend (threads of one process).
#include <catch2/catch.hpp>

#include "drop_recorder.h"
#include "lock/admin.h"
#include "lock/lock.h"
#include "lock/password_file.h"
#include "lock/redis_scripts.h"
#include "lock/redis_url.h"
#include "error_code.h"
#include "util/error.h"

#include <unistd.h>

#include <atomic>
#include <condition_variable>
#include <filesystem>
#include <fstream>
#include <thread>
#include <vector>

using namespace h5swmrfs;
using namespace std::chrono_literals;
using h5swmrfs::locktest::DropRecorder;
namespace fs = std::filesystem;

using h5swmrfs::test::error_code_of;

namespace {

template <class F>
bool eventually(F condition, std::chrono::steady_clock::duration timeout) {
    const auto deadline = std::chrono::steady_clock::now() + timeout;
    while (!condition()) {
        if (std::chrono::steady_clock::now() >= deadline) return false;
        std::this_thread::sleep_for(5ms);
    }
    return true;
}

struct TempDir {
    fs::path path;
    TempDir() {
        char tmpl[] = "/tmp/h5swmrfs-lock-unit-XXXXXX";
        path = mkdtemp(tmpl);
    }
    ~TempDir() { fs::remove_all(path); }
};

// How long lock.wait_for_drops(generation, others_only) took.
std::chrono::steady_clock::duration timed_wait(lock::Lock& lock, std::uint64_t generation, bool others_only) {
    const auto start = std::chrono::steady_clock::now();
    lock.wait_for_drops(generation, others_only);
    return std::chrono::steady_clock::now() - start;
}

lock::Options local_options(const TempDir& dir) {
    lock::Options o;
    o.backend = "local";
    o.local_lock_file = (dir.path / "f.h5.h5swmrfs-lock").string();
    o.key = o.local_lock_file;
    o.timeout = 5s;
    return o;
}

}  // namespace

TEST_CASE("redis URLs") {
    using lock::redis::parse_url;
    auto e = parse_url("redis://127.0.0.1:6379/0");
    CHECK(e.host == "127.0.0.1");
    CHECK(e.port == 6379);
    CHECK(e.db == 0);
    CHECK(e.password.empty());
    e = parse_url("redis://:p%40ss@cache.example:7000/5");
    CHECK(e.host == "cache.example");
    CHECK(e.port == 7000);
    CHECK(e.db == 5);
    CHECK(e.password == "p@ss");
    CHECK(e.describe() == "redis://cache.example:7000/5");
    e = parse_url("redis://localhost");
    CHECK(e.port == 6379);
    CHECK(e.db == 0);
    e = parse_url("redis://[::1]:6380/2");
    CHECK(e.host == "::1");
    CHECK(e.port == 6380);
    e = parse_url("unix:///run/redis/redis.sock?db=3");
    CHECK(e.unix_path == "/run/redis/redis.sock");
    CHECK(e.db == 3);
    e = parse_url("redis://user:pw@h/1");
    CHECK(e.user == "user");
    CHECK(e.password == "pw");
    for (const char* bad : {"http://x", "redis://", "redis://h:0", "redis://h:99999", "redis://h:x", "redis://h/abc",
                            "unix://relative.sock", "unix:///s.sock?db=x", "unix:///s.sock?foo=1", "redis://:%4@h"}) {
        INFO(bad);
        CHECK(error_code_of([&] { parse_url(bad); }) == EINVAL);
    }
}

TEST_CASE("default key and sidecar path") {
    TempDir dir;
    const fs::path real = fs::canonical(dir.path);
    std::ofstream(dir.path / "a.h5").put('x');
    fs::create_symlink(dir.path / "a.h5", dir.path / "link.h5");
    fs::create_directory(dir.path / "sub");
    CHECK(lock::default_key((dir.path / "link.h5").string()) == (real / "a.h5").string());
    CHECK(lock::default_key((dir.path / "sub" / ".." / "a.h5").string()) == (real / "a.h5").string());
    CHECK(lock::default_key((dir.path / "new.h5").string()) == (real / "new.h5").string());
    CHECK(lock::sidecar_path((dir.path / "link.h5").string()) == (real / "a.h5").string() + ".h5swmrfs-lock");
    CHECK(error_code_of([&] { lock::default_key((dir.path / "missing" / "x.h5").string()); }) == ENOENT);
}

TEST_CASE("SHA-1 of the scripts matches redis's") {
    CHECK(lock::redis::sha1_hex("abc") == "a9993e364706816aba3e25717850c26c9cd0d89d");
    CHECK(lock::redis::sha1_hex("") == "da39a3ee5e6b4b0d3255bfef95601890afd80709");
    CHECK(lock::redis::sha1_hex(std::string(1000, 'a')) == "291e9a6c66994949b57ba5e650361e98fc36b1ba");
}

TEST_CASE("key names share one hash slot") {
    lock::redis::KeyNames k("/data/x.h5");
    CHECK(k.holders == "h5swmr:{/data/x.h5}:holders");
    CHECK(k.channel == "h5swmr:{/data/x.h5}:events");
    CHECK(k.script_keys().size() == 11);
    CHECK(k.drops == "h5swmr:{/data/x.h5}:drops");
}

TEST_CASE("make_lock refuses what it cannot do") {
    lock::Options o;
    o.key = "k";
    o.backend = "h5pyswmr";
    o.key = "";
    CHECK(error_code_of([&] { lock::make_lock(o); }) == EINVAL);
    o.key = "k";
    o.redis_url = "redis://h:notaport";
    CHECK(error_code_of([&] { lock::make_lock(o); }) == EINVAL);
    o.redis_url = "";
    o.backend = "zookeeper";
    CHECK(error_code_of([&] { lock::make_lock(o); }) == EINVAL);
    o.backend = "redis";
    o.key = "";
    CHECK(error_code_of([&] { lock::make_lock(o); }) == EINVAL);
    o.key = "k";
    o.redis_url = "redis://h:notaport";
    CHECK(error_code_of([&] { lock::make_lock(o); }) == EINVAL);
    o.backend = "local";
    CHECK(error_code_of([&] { lock::make_lock(o); }) == EINVAL);  // no sidecar
}

TEST_CASE("local: threads share one shared hold") {
    TempDir dir;
    auto options = local_options(dir);
    auto lock = lock::make_lock(options);
    constexpr int threads = 4;
    std::atomic<int> inside{0}, most{0};
    std::atomic<int> ready{0};
    std::vector<std::thread> pool;
    std::size_t holders_seen = 0;
    std::mutex m;
    for (int i = 0; i < threads; ++i) {
        pool.emplace_back([&] {
            auto hold = lock->acquire(lock::Mode::Shared);
            int now = ++inside;
            int prev = most.load();
            while (now > prev && !most.compare_exchange_weak(prev, now)) {
            }
            ++ready;
            while (ready.load() < threads) std::this_thread::yield();
            {
                std::lock_guard g(m);
                if (holders_seen == 0) holders_seen = lock::read_status(options).holders.size();
            }
            --inside;
        });
    }
    for (auto& t : pool) t.join();
    CHECK(most.load() == threads);
    CHECK(holders_seen == 1);
}

TEST_CASE("local: writers in one process are serialized and move the generation") {
    TempDir dir;
    auto lock = lock::make_lock(local_options(dir));
    const auto before = lock->current_generation();
    std::atomic<int> inside{0};
    std::atomic<bool> overlap{false};
    std::vector<std::thread> pool;
    for (int i = 0; i < 4; ++i) {
        pool.emplace_back([&] {
            for (int n = 0; n < 10; ++n) {
                auto hold = lock->acquire(n % 3 ? lock::Mode::Exclusive : lock::Mode::Shared);
                if (hold->mode() == lock::Mode::Exclusive) {
                    if (++inside != 1) overlap = true;
                    std::this_thread::sleep_for(1ms);
                    --inside;
                } else if (inside.load() != 0) {
                    overlap = true;
                }
            }
        });
    }
    for (auto& t : pool) t.join();
    CHECK_FALSE(overlap.load());
    CHECK(lock->current_generation() == before + 4 * 6);
}

TEST_CASE("local: EBUSY after the timeout; an idle kept hold yields to a writer") {
    TempDir dir;
    auto options = local_options(dir);
    options.keep_idle = 60s;
    auto reader = lock::make_lock(options);
    auto writer_options = options;
    writer_options.timeout = 300ms;
    auto writer = lock::make_lock(writer_options);
    {
        auto shared = reader->acquire(lock::Mode::Shared);
        const auto start = std::chrono::steady_clock::now();
        CHECK(error_code_of([&] { writer->acquire(lock::Mode::Exclusive); }) == EBUSY);
        const auto waited = std::chrono::steady_clock::now() - start;
        CHECK(waited >= 290ms);
        CHECK(waited < 2s);
    }
    // The writer that gave up had poked the reader's process, which let its idle hold go.
    CHECK(eventually([&] { return lock::read_status(options).holders.empty(); }, 2s));
    // Kept idle again (keep_idle 60 s): a waiting writer's poke makes it let go at once.
    reader->acquire(lock::Mode::Shared).reset();
    CHECK(lock::read_status(options).holders.size() == 1);
    writer_options.timeout = 5s;
    auto patient = lock::make_lock(writer_options);
    const auto start = std::chrono::steady_clock::now();
    auto hold = patient->acquire(lock::Mode::Exclusive);
    CHECK(std::chrono::steady_clock::now() - start < 1s);
}

TEST_CASE("the password file: its first line, without line end or trailing blanks, for both programs") {
    TempDir dir;
    auto write = [&](const std::string& name, const std::string& content) {
        std::ofstream(dir.path / name, std::ios::binary) << content;
        return (dir.path / name).string();
    };
    CHECK(lock::read_password_file(write("lf", "s3cret\n")) == "s3cret");
    CHECK(lock::read_password_file(write("crlf", "s3cret\r\n")) == "s3cret");
    CHECK(lock::read_password_file(write("blanks", "s3cret \t \r\nsecond line\n")) == "s3cret");
    CHECK(lock::read_password_file(write("bare", "s3 cret")) == "s3 cret");  // inner blanks are the password's
    CHECK(error_code_of([&] { lock::read_password_file(write("empty", "\n")); }) == EINVAL);
    CHECK(error_code_of([&] { lock::read_password_file((dir.path / "missing").string()); }) == ENOENT);
}

TEST_CASE("local drops: a caching process's shared release records a drop; a later writer waits until it is dropped") {
    TempDir dir;
    auto options = local_options(dir);
    options.keep_idle = 0ms;
    DropRecorder recorder;
    auto reader = lock::make_lock(options);
    reader->on_shared_released(recorder.handler());
    auto writer = lock::make_lock(options);
    writer->acquire(lock::Mode::Exclusive).reset();

    const auto read_generation = reader->acquire(lock::Mode::Shared)->generation();
    REQUIRE(recorder.wait_for(1, 2s));
    const lock::Drop drop = recorder.drops()[0];
    CHECK(recorder.threads()[0] != std::this_thread::get_id());  // a lock thread, not the operation's
    CHECK(drop.generation == read_generation);
    auto status = lock::read_status(options);
    CHECK(status.holders.empty());
    REQUIRE(status.drops.size() == 1);
    CHECK(status.drops[0].state == "dropping");
    CHECK(status.drops[0].generation == read_generation);
    CHECK(status.drops[0].pid == getpid());

    auto hold = writer->acquire(lock::Mode::Exclusive);  // a drop does not keep writers out
    const auto write_generation = hold->generation();
    hold.reset();
    std::atomic<bool> done{false};
    std::thread wait([&] {
        writer->wait_for_drops(write_generation, false);
        done = true;
    });
    std::this_thread::sleep_for(300ms);
    CHECK_FALSE(done.load());
    const auto dropped_at = std::chrono::steady_clock::now();
    reader->dropped(drop.id);
    wait.join();
    CHECK(std::chrono::steady_clock::now() - dropped_at < 200ms);
    CHECK(lock::read_status(options).drops.empty());
    reader->dropped(drop.id);  // idempotent
}

TEST_CASE("local drops: newer drops are not waited for; others_only leaves own drops out; the timeout bounds the wait") {
    TempDir dir;
    auto options = local_options(dir);
    options.keep_idle = 0ms;
    options.timeout = 500ms;
    DropRecorder recorder;
    auto mount = lock::make_lock(options);
    mount->on_shared_released(recorder.handler());
    auto other = lock::make_lock(options);
    const auto generation = other->acquire(lock::Mode::Exclusive)->generation();
    CHECK(mount->acquire(lock::Mode::Shared)->generation() == generation);
    REQUIRE(recorder.wait_for(1, 2s));
    REQUIRE(lock::read_status(options).drops.size() == 1);

    CHECK(timed_wait(*other, generation, false) < 200ms);      // read after the write
    CHECK(timed_wait(*mount, generation + 1, true) < 200ms);   // its own
    auto waited = timed_wait(*mount, generation + 1, false);  // its own, counted
    CHECK(waited >= 450ms);
    CHECK(waited < 2s);
    waited = timed_wait(*other, generation + 1, true);  // someone else's
    CHECK(waited >= 450ms);
    CHECK(waited < 2s);

    // Drops of this process on both sides of another's: only the other one is waited for.
    DropRecorder third_recorder;
    auto third = lock::make_lock(options);
    third->on_shared_released(third_recorder.handler());
    third->acquire(lock::Mode::Shared).reset();
    REQUIRE(third_recorder.wait_for(1, 2s));
    mount->acquire(lock::Mode::Shared).reset();
    REQUIRE(recorder.wait_for(2, 2s));
    CHECK(lock::read_status(options).drops.size() == 3);
    waited = timed_wait(*mount, generation + 1, true);
    CHECK(waited >= 450ms);
    third->dropped(third_recorder.drops()[0].id);
    CHECK(timed_wait(*mount, generation + 1, true) < 200ms);
}

TEST_CASE("local drops: a drop ends with its process's descriptors") {
    TempDir dir;
    auto options = local_options(dir);
    options.keep_idle = 0ms;
    auto writer = lock::make_lock(options);
    DropRecorder recorder;
    auto reader = lock::make_lock(options);
    reader->on_shared_released(recorder.handler());
    const auto generation = reader->acquire(lock::Mode::Shared)->generation();
    REQUIRE(recorder.wait_for(1, 2s));
    std::atomic<bool> done{false};
    std::thread wait([&] {
        writer->wait_for_drops(generation + 1, false);
        done = true;
    });
    std::this_thread::sleep_for(200ms);
    CHECK_FALSE(done.load());
    reader.reset();  // its descriptors close, as when the process dies
    wait.join();
    CHECK(lock::read_status(options).drops.empty());
}

TEST_CASE("local drops: a writer gets the lock at once from an idle caching process, and returns once it dropped") {
    TempDir dir;
    auto options = local_options(dir);
    options.keep_idle = std::chrono::milliseconds::max();  // kept until someone needs it
    auto reader = lock::make_lock(options);
    std::atomic<std::uint64_t> pending{0};
    reader->on_shared_released([&](const lock::Drop& drop) { pending = drop.id; });
    reader->acquire(lock::Mode::Shared).reset();
    std::this_thread::sleep_for(100ms);
    CHECK(lock::read_status(options).holders.size() == 1);  // kept
    CHECK(pending.load() == 0);
    auto writer = lock::make_lock(options);
    const auto start = std::chrono::steady_clock::now();
    auto hold = writer->acquire(lock::Mode::Exclusive);
    CHECK(std::chrono::steady_clock::now() - start < 1s);
    REQUIRE(eventually([&] { return pending.load() != 0; }, 2s));
    const auto generation = hold->generation();
    hold.reset();
    std::thread dropper([&] {
        std::this_thread::sleep_for(300ms);
        reader->dropped(pending.load());
    });
    const auto waited = timed_wait(*writer, generation, false);
    dropper.join();
    CHECK(waited >= 250ms);
    CHECK(waited < 2s);
}
