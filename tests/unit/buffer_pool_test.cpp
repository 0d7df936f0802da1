// The pool of buffers the direct read path decodes chunks into: memory handed out again,
// within its budget, and given back by the last owner of a shared buffer.
#include <catch2/catch.hpp>

#include <atomic>
#include <thread>
#include <vector>

#include "util/buffer_pool.h"

using h5swmrfs::util::BufferPool;
using h5swmrfs::util::Bytes;

namespace {
constexpr std::size_t MiB = std::size_t{1} << 20;
}

TEST_CASE("a buffer given back is handed out again, for a size it fits") {
    auto pool = BufferPool::create(8 * MiB);
    Bytes first = pool->take(MiB);
    REQUIRE(first.size() == MiB);
    const std::byte* memory = first.data();
    pool->give(std::move(first));
    CHECK(pool->kept_bytes() >= MiB);
    // Smaller, but not less than half of it: the same memory.
    Bytes again = pool->take(MiB / 2 + 1);
    CHECK(again.data() == memory);
    CHECK(again.size() == MiB / 2 + 1);
    CHECK(pool->kept_bytes() == 0);
    pool->give(std::move(again));
    // Less than half of it, or more than it holds: new memory; the kept one stays.
    CHECK(pool->take(MiB / 2 - 1).data() != memory);
    CHECK(pool->take(MiB + 1).data() != memory);
    CHECK(pool->take(MiB).data() == memory);
}

TEST_CASE("the pool keeps no more than its budget, and no small buffers") {
    auto pool = BufferPool::create(3 * MiB);
    for (int i = 0; i < 5; ++i) pool->give(pool->take(MiB));
    CHECK(pool->kept_bytes() == MiB);  // the same one, each time
    std::vector<Bytes> many;
    for (int i = 0; i < 5; ++i) many.push_back(pool->take(MiB));
    for (Bytes& buffer : many) pool->give(std::move(buffer));
    CHECK(pool->kept_bytes() <= 3 * MiB);
    CHECK(pool->kept_bytes() >= 2 * MiB);
    auto none = BufferPool::create(MiB);
    none->give(none->take(4096));  // malloc keeps small ones itself
    CHECK(none->kept_bytes() == 0);
}

TEST_CASE("a shared buffer comes back when its last owner lets go") {
    auto pool = BufferPool::create(8 * MiB);
    Bytes buffer = pool->take(MiB);
    buffer[0] = std::byte{42};
    const std::byte* memory = buffer.data();
    auto shared = pool->share(std::move(buffer));
    auto other = shared;
    CHECK((*other)[0] == std::byte{42});
    shared.reset();
    CHECK(pool->kept_bytes() == 0);
    other.reset();
    CHECK(pool->kept_bytes() >= MiB);
    CHECK(pool->take(MiB).data() == memory);
}

TEST_CASE("a shared buffer may outlive every other owner of its pool") {
    auto pool = BufferPool::create(8 * MiB);
    auto shared = pool->share(pool->take(MiB));
    pool.reset();
    CHECK(shared->size() == MiB);
    shared.reset();  // gives back to the pool it keeps alive, which then goes
}

TEST_CASE("many threads take, share and give at once") {
    auto pool = BufferPool::create(16 * MiB);
    std::vector<std::thread> threads;
    std::atomic<int> wrong{0};
    for (int t = 0; t < 8; ++t) {
        threads.emplace_back([&, t] {
            for (int i = 0; i < 200; ++i) {
                const std::size_t size = (64 << 10) * (1 + (t + i) % 8);
                Bytes buffer = pool->take(size);
                if (buffer.size() != size) ++wrong;
                buffer.front() = buffer.back() = std::byte(t);
                auto shared = pool->share(std::move(buffer));
                if (shared->front() != std::byte(t) || shared->back() != std::byte(t)) ++wrong;
            }
        });
    }
    for (auto& thread : threads) thread.join();
    CHECK(wrong == 0);
    CHECK(pool->kept_bytes() <= 16 * MiB);
}
