// The worker pool and the decoded-chunk cache under concurrency (run these under
// ThreadSanitizer too: meson setup build-tsan -Db_sanitize=thread).
#include <catch2/catch.hpp>

#include <atomic>
#include <chrono>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

#include "h5/chunk_cache.h"
#include "util/error.h"
#include "util/worker_pool.h"

using h5swmrfs::h5::ChunkCache;
using h5swmrfs::util::WorkerPool;

namespace {

ChunkCache::Chunk chunk_of(std::size_t size, std::byte value = std::byte{1}) {
    return std::make_shared<const h5swmrfs::util::Bytes>(size, value);
}

}  // namespace

TEST_CASE("run_all runs every task once, on the pool and the caller") {
    WorkerPool pool(3);
    for (std::size_t n : {0u, 1u, 2u, 7u, 100u}) {
        std::vector<std::atomic<int>> runs(n);
        std::vector<std::function<void()>> tasks;
        for (std::size_t i = 0; i < n; ++i) tasks.emplace_back([&runs, i] { ++runs[i]; });
        pool.run_all(tasks);
        for (auto& r : runs) CHECK(r == 1);
    }
}

TEST_CASE("run_all rethrows a task's exception after every task ended") {
    WorkerPool pool(2);
    std::atomic<int> done{0};
    std::vector<std::function<void()>> tasks;
    for (int i = 0; i < 10; ++i)
        tasks.emplace_back([&done, i] {
            ++done;
            if (i == 4) throw std::runtime_error("four");
        });
    CHECK_THROWS_WITH(pool.run_all(tasks), "four");
    CHECK(done == 10);
}

TEST_CASE("run_all finishes while every worker is busy, and from many threads at once") {
    std::atomic<bool> release{false};  // outlives the pool, whose tasks read it
    WorkerPool pool(2);
    for (int i = 0; i < 2; ++i)
        pool.post([&release] { while (!release) std::this_thread::sleep_for(std::chrono::milliseconds(1)); }, 10);
    std::atomic<int> sum{0};
    std::vector<std::thread> callers;
    for (int c = 0; c < 4; ++c)
        callers.emplace_back([&] {
            std::vector<std::function<void()>> tasks(16, [&sum] { ++sum; });
            pool.run_all(tasks);
        });
    for (auto& t : callers) t.join();
    CHECK(sum == 64);
    release = true;
}

TEST_CASE("post drops what does not fit the queue, and the pool drops what never started") {
    std::atomic<int> ran{0};
    {
        std::atomic<bool> release{false};  // outlives the pool, whose tasks read it
        WorkerPool pool(1);
        pool.post([&release] { while (!release) std::this_thread::sleep_for(std::chrono::milliseconds(1)); }, 10);
        std::this_thread::sleep_for(std::chrono::milliseconds(20));  // the worker is in it
        int queued = 0;
        for (int i = 0; i < 5; ++i) queued += pool.post([&ran] { ++ran; }, 3);
        CHECK(queued == 3);
        release = true;
    }
    CHECK(ran <= 3);
}

TEST_CASE("a chunk asked for by many threads at once is decoded once") {
    ChunkCache cache(1 << 20);
    std::atomic<int> decodes{0}, wrong{0};
    WorkerPool pool(4);
    std::vector<std::function<void()>> tasks;
    for (int i = 0; i < 64; ++i)
        tasks.emplace_back([&] {
            auto chunk = cache.get({1, 7}, [&] {
                ++decodes;
                std::this_thread::sleep_for(std::chrono::milliseconds(5));
                return chunk_of(100);
            });
            if (chunk->size() != 100) ++wrong;  // (Catch2's checks are for one thread)
        });
    pool.run_all(tasks);
    CHECK(wrong == 0);
    CHECK(decodes == 1);
    CHECK(cache.has({1, 7}));
    CHECK_FALSE(cache.has({2, 7}));
}

TEST_CASE("a failed decoding reaches its waiters and is not kept") {
    ChunkCache cache(1 << 20);
    CHECK_THROWS(cache.get({1, 1}, []() -> ChunkCache::Chunk { throw std::runtime_error("bad"); }));
    CHECK_FALSE(cache.has({1, 1}));
    CHECK(cache.get({1, 1}, [] { return chunk_of(3); })->size() == 3);
}

TEST_CASE("who waits for a decoding that fails gets its errno and message, as its own exception") {
    ChunkCache cache(1 << 20);
    std::atomic<int> code{0};
    std::string message;
    std::thread decoder([&] {
        try {
            cache.get({3, 3}, []() -> ChunkCache::Chunk {
                std::this_thread::sleep_for(std::chrono::milliseconds(100));
                throw h5swmrfs::Error(EIO, "bad chunk");
            });
        } catch (const h5swmrfs::Error&) {
        }
    });
    while (!cache.has({3, 3})) std::this_thread::yield();
    try {
        cache.get({3, 3}, [] { return chunk_of(1); });  // waits: the decoding above is under way
    } catch (const h5swmrfs::Error& e) {
        code = e.code();
        message = e.what();
    }
    decoder.join();
    CHECK(code == EIO);
    CHECK(message == "bad chunk");
    CHECK_FALSE(cache.has({3, 3}));
}

TEST_CASE("run_all's failure keeps its errno") {
    WorkerPool pool(2);
    std::vector<std::function<void()>> tasks(3, [] { throw h5swmrfs::Error(ENOSPC, "full"); });
    try {
        pool.run_all(tasks);
        FAIL("no failure");
    } catch (const h5swmrfs::Error& e) {
        CHECK(e.code() == ENOSPC);
        CHECK(std::string(e.what()) == "full");
    }
}

TEST_CASE("the cache keeps to its budget, least recently used out first") {
    ChunkCache cache(1000);
    for (std::uint64_t i = 0; i < 4; ++i) cache.get({1, i}, [] { return chunk_of(300); });
    CHECK(cache.bytes() <= 1000);
    CHECK_FALSE(cache.has({1, 0}));
    cache.get({1, 1}, [] { return chunk_of(300); });  // used: now the newest
    cache.get({1, 4}, [] { return chunk_of(300); });
    CHECK(cache.has({1, 1}));
    CHECK_FALSE(cache.has({1, 2}));
    cache.get({1, 9}, [] { return chunk_of(600); });  // more than half the budget: not kept
    CHECK_FALSE(cache.has({1, 9}));
    cache.retire();
    CHECK(cache.bytes() == 0);
    cache.get({1, 5}, [] { return chunk_of(10); });
    CHECK_FALSE(cache.has({1, 5}));
}
