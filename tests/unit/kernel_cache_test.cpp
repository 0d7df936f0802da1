// KernelCache: what a request may let the kernel keep, and the drop that empties it only
// once every request that read under the given-up hold has sent its answer.
#include <catch2/catch.hpp>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <future>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "fs/kernel_cache.h"

using namespace h5swmrfs::fs;
using namespace std::chrono_literals;

namespace {

// What the kernel was told, in order, and what was reported dropped.
struct Log {
    std::mutex mutex;
    std::vector<std::string> events;
    void add(std::string event) {
        std::lock_guard guard(mutex);
        events.push_back(std::move(event));
    }
    std::vector<std::string> get() {
        std::lock_guard guard(mutex);
        return events;
    }
    // Waits until `event` is logged; false after 5 s.
    bool wait_for(const std::string& event) {
        for (int i = 0; i < 500; ++i) {
            for (const std::string& e : get())
                if (e == event) return true;
            std::this_thread::sleep_for(10ms);
        }
        return false;
    }
};

class FakeKernel : public KernelNotices {
public:
    explicit FakeKernel(Log& log) : log_(log) {}
    void forget_inode(fuse_ino_t ino, bool pages) override {
        log_.add("inode " + std::to_string(ino) + (pages ? " pages" : ""));
    }
    void forget_entry(fuse_ino_t parent, std::string_view name) override {
        log_.add("entry " + std::to_string(parent) + "/" + std::string(name));
    }

private:
    Log& log_;
};

void start(KernelCache& cache, Log& log) {
    cache.start(std::make_unique<FakeKernel>(log), [&log](std::uint64_t id) { log.add("dropped " + std::to_string(id)); });
}

// Runs `work` as one request on a thread of its own (membership is per thread).
template <class Work>
void request(Work&& work) {
    std::thread([&] {
        work();
        KernelCache::request_ended();
    }).join();
}

}  // namespace

TEST_CASE("a mount that does not cache lets the kernel keep nothing") {
    Log log;
    KernelCache cache(false);
    start(cache, log);
    request([&] {
        cache.join_shared();
        fuse_entry_param entry{};
        entry.ino = 5;
        cache.entry(entry, 1, "a");
        CHECK(entry.entry_timeout == 0);
        CHECK(entry.attr_timeout == 0);
        CHECK(cache.attributes(5) == 0);
        cache.pages(5, 3);
        CHECK_FALSE(cache.keep_pages(5, 3));
    });
    cache.drop(4);
    CHECK(log.get() == std::vector<std::string>{"dropped 4"});
}

TEST_CASE("what a shared request answered is forgotten at the next drop: inodes, the report, then names") {
    Log log;
    KernelCache cache(true);
    start(cache, log);
    request([&] {
        cache.join_shared();
        fuse_entry_param entry{};
        entry.ino = 5;
        cache.entry(entry, 1, "a");
        CHECK(entry.entry_timeout == KernelCache::kTimeout);
        CHECK(entry.attr_timeout == KernelCache::kTimeout);
        fuse_entry_param none{};
        cache.entry(none, 1, "missing");  // a name that does not exist: made elsewhere, it must show
        CHECK(none.entry_timeout == 0);
        CHECK(cache.attributes(7) == KernelCache::kTimeout);
        cache.pages(9, 3);
    });
    CHECK(log.get().empty());  // nothing is forgotten while the hold is kept
    cache.drop(11);
    REQUIRE(log.wait_for("entry 1/a"));
    auto events = log.get();
    // Names after the report: expiring one waits for its directory's lock, which a
    // request may hold while it waits for a drop (of another mount that waits for this one).
    REQUIRE(events.size() == 5);
    CHECK(events[3] == "dropped 11");
    CHECK(events[4] == "entry 1/a");
    events.resize(3);
    std::sort(events.begin(), events.end());
    CHECK(events == std::vector<std::string>{"inode 5", "inode 7", "inode 9 pages"});

    cache.drop(12);  // nothing filled since: reported at once, nothing forgotten twice
    REQUIRE(log.wait_for("dropped 12"));
    CHECK(log.get().size() == 6);
}

TEST_CASE("a drop waits for the answers of requests that joined before it") {
    Log log;
    KernelCache cache(true);
    start(cache, log);
    std::promise<void> answer;
    std::promise<void> joined;
    std::thread reader([&] {
        cache.join_shared();
        cache.attributes(5);
        joined.set_value();
        answer.get_future().wait();  // the reply is still being sent
        log.add("answered");
        KernelCache::request_ended();
    });
    joined.get_future().wait();
    cache.drop(3);
    // The pass must not forget inode 5 before the answer that filled it was sent:
    // otherwise the answer lands after, and the kernel keeps it past the drop.
    std::this_thread::sleep_for(200ms);
    CHECK(log.get().empty());
    answer.set_value();
    reader.join();
    REQUIRE(log.wait_for("dropped 3"));
    CHECK(log.get() == std::vector<std::string>{"answered", "inode 5", "dropped 3"});
}

TEST_CASE("a request that changes the file lets the kernel keep nothing") {
    Log log;
    KernelCache cache(true);
    start(cache, log);
    request([&] {
        cache.join_shared();
        KernelCache::join_exclusive();
        fuse_entry_param entry{};
        entry.ino = 5;
        cache.entry(entry, 1, "new");
        CHECK(entry.entry_timeout == 0);
        CHECK(entry.attr_timeout == 0);
        CHECK(cache.attributes(5) == 0);
    });
    request([&] {  // and the next request of the same thread may again
        cache.join_shared();
        CHECK(cache.attributes(6) == KernelCache::kTimeout);
    });
    cache.drop(1);
    REQUIRE(log.wait_for("dropped 1"));
    CHECK(log.get() == std::vector<std::string>{"inode 6", "dropped 1"});
}

TEST_CASE("an open keeps the kernel's pages only when all are of its generation") {
    Log log;
    KernelCache cache(true);
    start(cache, log);
    request([&] {
        cache.join_shared();
        CHECK_FALSE(cache.keep_pages(9, 3));  // none read yet: nothing to keep
        cache.pages(9, 3);
        CHECK(cache.keep_pages(9, 3));
        CHECK_FALSE(cache.keep_pages(9, 4));
        cache.pages(9, 4);  // pages of two generations
        CHECK_FALSE(cache.keep_pages(9, 3));
        CHECK_FALSE(cache.keep_pages(9, 4));
    });
    cache.drop(2);
    REQUIRE(log.wait_for("dropped 2"));
    request([&] {
        cache.join_shared();
        CHECK_FALSE(cache.keep_pages(9, 4));
        cache.pages(9, 4);
        CHECK(cache.keep_pages(9, 4));
    });
}

TEST_CASE("an open has the kernel forget the attributes unless all it caches is of its generation") {
    Log log;
    KernelCache cache(true);
    start(cache, log);
    auto inodes_forgotten = [&] {
        auto events = log.get();
        return std::count(events.begin(), events.end(), "inode 9");
    };
    request([&] {
        cache.join_shared();
        CHECK_FALSE(cache.opened(9, 3));  // nothing read yet
        cache.pages(9, 3);
        CHECK(cache.opened(9, 3));
    });
    CHECK(inodes_forgotten() == 1);
    // A request of the hold given up still answers: the drop's pass waits for it. An open
    // meanwhile (under a hold of the same generation: no writer came) keeps the pages,
    // all of its generation, but not the attributes, which the drop has yet to forget.
    std::promise<void> answer;
    std::promise<void> joined;
    std::thread old_request([&] {
        cache.join_shared();
        joined.set_value();
        answer.get_future().wait();
        KernelCache::request_ended();
    });
    joined.get_future().wait();
    cache.drop(1);
    request([&] {
        cache.join_shared();
        cache.pages(9, 3);
        CHECK(cache.opened(9, 3));
    });
    CHECK(inodes_forgotten() == 2);
    answer.set_value();
    old_request.join();
    REQUIRE(log.wait_for("dropped 1"));
    // (Pages read while a pass ran are of no known generation until the next pass.)
    cache.drop(2);
    REQUIRE(log.wait_for("dropped 2"));
    const auto forgotten = inodes_forgotten();
    request([&] {
        cache.join_shared();
        cache.pages(9, 5);
        CHECK(cache.opened(9, 5));
    });
    CHECK(inodes_forgotten() == forgotten);  // all of its generation, no drop pending: kept
    KernelCache off(false);
    start(off, log);
    request([&] {
        off.join_shared();
        CHECK_FALSE(off.opened(9, 5));
    });
    CHECK(inodes_forgotten() == forgotten);  // a mount that does not cache: nothing to forget
}

TEST_CASE("staged bytes read into the page cache are forgotten once answered, without a drop") {
    Log log;
    KernelCache cache(true);
    start(cache, log);
    request([&] {
        cache.join_shared();
        cache.pages(9, 3);
        cache.tainted(9);
        CHECK_FALSE(cache.keep_pages(9, 3));
    });
    REQUIRE(log.wait_for("inode 9 pages"));
    std::this_thread::sleep_for(50ms);
    CHECK(log.get() == std::vector<std::string>{"inode 9 pages"});  // no drop reported
    request([&] {
        cache.join_shared();
        CHECK_FALSE(cache.keep_pages(9, 3));
    });
}

namespace {

// A kernel whose forgetting of pages waits, as for a page a pending read holds, until
// that read fails (free()).
class StuckKernel : public KernelNotices {
public:
    void forget_inode(fuse_ino_t, bool) override {
        std::unique_lock guard(mutex_);
        waiting_ = true;
        changed_.notify_all();
        changed_.wait(guard, [&] { return freed_; });
    }
    void forget_entry(fuse_ino_t, std::string_view) override {}
    void free() {
        std::lock_guard guard(mutex_);
        freed_ = true;
        changed_.notify_all();
    }
    bool wait_until_waiting() {
        std::unique_lock guard(mutex_);
        return changed_.wait_for(guard, 5s, [&] { return waiting_; });
    }

private:
    std::mutex mutex_;
    std::condition_variable changed_;
    bool waiting_ = false, freed_ = false;
};

}  // namespace

TEST_CASE("stopping while the kernel keeps the cache thread waiting frees it, then ends") {
    KernelCache cache(true);
    auto owned = std::make_unique<StuckKernel>();
    StuckKernel& kernel = *owned;
    cache.start(std::move(owned), [](std::uint64_t) {});
    request([&] {
        cache.join_shared();
        cache.pages(9, 3);
    });
    cache.drop(1);
    REQUIRE(kernel.wait_until_waiting());
    int unstuck = 0;
    cache.stop([&] {
        ++unstuck;
        kernel.free();
    });
    CHECK(unstuck == 1);
}

TEST_CASE("stopping a cache thread that is not waiting does not free anything") {
    Log log;
    KernelCache cache(true);
    start(cache, log);
    int unstuck = 0;
    cache.stop([&] { ++unstuck; });
    CHECK(unstuck == 0);
}
