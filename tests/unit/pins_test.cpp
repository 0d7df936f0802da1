// Pins (fs/pins.h): which pins a writer elsewhere cuts, and when.
#include <catch2/catch.hpp>

#include <atomic>
#include <chrono>
#include <thread>

#include "fs/open_file.h"
#include "fs/pins.h"
#include "lock/lock.h"

using namespace h5swmrfs;
using namespace std::chrono_literals;

namespace {

class FakeHold : public lock::Hold {
public:
    lock::Mode mode() const noexcept override { return lock::Mode::Shared; }
    std::uint64_t generation() const noexcept override { return 1; }
    std::uint64_t fence() const noexcept override { return 1; }
    void check_valid() const override {}
    bool wanted() const noexcept override { return wanted_; }
    std::atomic<bool> wanted_{false};
};

bool pinned(fs::OpenFile& file) {
    std::lock_guard guard(file.mutex);
    return static_cast<bool>(file.pin);
}

// Pins `file` with `hold` now, as open() does.
void pin(fs::Pins& pins, fs::OpenFile& file, std::shared_ptr<lock::Hold> hold) {
    {
        std::lock_guard guard(file.mutex);
        file.pin = std::move(hold);
        file.pinned_at = std::chrono::steady_clock::now();
    }
    REQUIRE(pins.add(&file, pins.cuts()) == nullptr);
}

// Waits up to `limit` for `file` to lose its pin; how long it took, or limit.
std::chrono::milliseconds time_to_cut(fs::OpenFile& file, std::chrono::milliseconds limit) {
    const auto start = std::chrono::steady_clock::now();
    while (pinned(file) && std::chrono::steady_clock::now() - start < limit) std::this_thread::sleep_for(2ms);
    return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - start);
}

}  // namespace

TEST_CASE("a writer elsewhere cuts, after the grace, the pins from before it waited") {
    fs::Pins pins(100ms);
    pins.start();
    fs::OpenFile before;
    pin(pins, before, std::make_shared<FakeHold>());
    const auto noticed = std::chrono::steady_clock::now();
    pins.writer_waiting();
    time_to_cut(before, 5000ms);
    CHECK_FALSE(pinned(before));
    CHECK(std::chrono::steady_clock::now() - noticed >= 100ms);
    pins.remove(&before);
}

TEST_CASE("a pin made after the writer's notice, of the hold the writer waits for, is cut too") {
    // The hold kept until the notice takes users until the process hears of the writer: a
    // reader pinned in between would otherwise keep the writer waiting until it closes.
    fs::Pins pins(100ms);
    pins.start();
    pins.writer_waiting();
    std::this_thread::sleep_for(5ms);
    auto wanted = std::make_shared<FakeHold>();
    fs::OpenFile late;
    pin(pins, late, wanted);
    wanted->wanted_ = true;
    CHECK(time_to_cut(late, 5000ms) < 5000ms);
    CHECK_FALSE(pinned(late));
    pins.remove(&late);
}

TEST_CASE("a pin made after the writer's notice, of a newer hold, stays") {
    fs::Pins pins(50ms);
    pins.start();
    pins.writer_waiting();
    std::this_thread::sleep_for(5ms);
    fs::OpenFile newer;
    pin(pins, newer, std::make_shared<FakeHold>());
    CHECK(time_to_cut(newer, 400ms) >= 400ms);
    CHECK(pinned(newer));
    pins.remove(&newer);
}

TEST_CASE("a lease in doubt cuts every pin at once, without waiting for the pins' mutex") {
    fs::Pins pins(10s);
    pins.start();
    fs::OpenFile a, b;
    pin(pins, a, std::make_shared<FakeHold>());
    pin(pins, b, std::make_shared<FakeHold>());
    std::atomic<bool> returned{false};
    std::thread doubter;
    {
        // A file's mutex held by a long read: the caller still returns at once.
        std::lock_guard busy(a.mutex);
        doubter = std::thread([&] {
            pins.cut_all_soon();
            returned = true;
        });
        const auto start = std::chrono::steady_clock::now();
        while (!returned && std::chrono::steady_clock::now() - start < 5s) std::this_thread::sleep_for(1ms);
        CHECK(returned);
    }
    doubter.join();
    CHECK(time_to_cut(a, 5000ms) < 5000ms);
    CHECK(time_to_cut(b, 5000ms) < 5000ms);
    pins.remove(&a);
    pins.remove(&b);
}

TEST_CASE("openers that map their file lose their pins at a writer's notice, without the grace") {
    fs::Pins pins(10s);
    std::atomic<int> asked{0};
    pins.start([&](pid_t opener, std::uint64_t) {
        ++asked;
        return opener == 42;
    });
    fs::OpenFile mapped, plain;
    mapped.opener = 42;
    plain.opener = 43;
    pin(pins, mapped, std::make_shared<FakeHold>());
    pin(pins, plain, std::make_shared<FakeHold>());
    pins.writer_waiting();
    CHECK(time_to_cut(mapped, 5000ms) < 5000ms);
    CHECK(time_to_cut(plain, 300ms) >= 300ms);
    CHECK(asked >= 2);
    pins.remove(&mapped);
    pins.remove(&plain);
}
