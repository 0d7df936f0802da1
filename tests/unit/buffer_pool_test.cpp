// The pool of buffers the direct read path decodes chunks into: memory handed out again,
// within its budget, and given back by the last owner of a shared buffer.
#include <catch2/catch.hpp>

#include <algorithm>
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
    CHECK(pool->kept_bytes() == MiB);
    // A little smaller (it holds at most an eighth of the size, or 64 KiB, more): the same memory.
    Bytes again = pool->take(MiB - MiB / 16);
    CHECK(again.data() == memory);
    CHECK(again.size() == MiB - MiB / 16);
    CHECK(pool->kept_bytes() == 0);
    pool->give(std::move(again));
    // Much smaller, or more than it holds: new memory; the kept one stays.
    CHECK(pool->take(MiB / 2).data() != memory);
    CHECK(pool->take(MiB + 1).data() != memory);
    CHECK(pool->take(MiB).data() == memory);
}

TEST_CASE("new buffers have room up to the next 64 KiB, and serve sizes near theirs") {
    auto pool = BufferPool::create(8 * MiB);
    Bytes buffer = pool->take(300000);
    CHECK(buffer.size() == 300000);
    CHECK(buffer.capacity() == 5 * BufferPool::kSmallest);
    const std::byte* memory = buffer.data();
    pool->give(std::move(buffer));
    CHECK(pool->take(5 * BufferPool::kSmallest).data() == memory);
}

TEST_CASE("the pool keeps no more than its budget, the newest first, and no small buffers") {
    auto pool = BufferPool::create(3 * MiB);
    for (int i = 0; i < 5; ++i) pool->give(pool->take(MiB));
    CHECK(pool->kept_bytes() == MiB);  // the same one, each time
    std::vector<Bytes> many;
    for (int i = 0; i < 5; ++i) many.push_back(pool->take(MiB));
    const std::byte* newest = many.back().data();
    for (Bytes& buffer : many) pool->give(std::move(buffer));
    CHECK(pool->kept_bytes() == 3 * MiB);
    many.clear();
    for (int i = 0; i < 3; ++i) many.push_back(pool->take(MiB));
    CHECK(std::any_of(many.begin(), many.end(), [&](const Bytes& b) { return b.data() == newest; }));
    CHECK(pool->kept_bytes() == 0);

    auto none = BufferPool::create(MiB);
    none->give(none->take(4096));  // malloc keeps small ones itself
    none->give(none->take(2 * MiB));  // larger than the whole budget
    CHECK(none->kept_bytes() == 0);

    auto counted = BufferPool::create(1024 * MiB);
    std::vector<Bytes> small;
    for (std::size_t i = 0; i < 2 * BufferPool::kMostKept; ++i) small.push_back(counted->take(BufferPool::kSmallest));
    for (Bytes& buffer : small) counted->give(std::move(buffer));
    CHECK(counted->kept_bytes() == BufferPool::kMostKept * BufferPool::kSmallest);
}

TEST_CASE("sizes no longer in use make way for those that are") {
    auto pool = BufferPool::create(9 * MiB);
    pool->give(pool->take(4 * MiB));
    pool->give(pool->take(4 * MiB + 1));  // two kept, of 4 MiB and 4 MiB + 64 KiB
    CHECK(pool->kept_bytes() == 8 * MiB + BufferPool::kSmallest);
    Bytes one = pool->take(MiB);  // none fits: new
    const std::byte* memory = one.data();
    pool->give(std::move(one));  // the oldest large one goes to make room
    CHECK(pool->kept_bytes() == 5 * MiB + BufferPool::kSmallest);
    CHECK(pool->take(MiB).data() == memory);
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
                buffer.front() = buffer[size / 2] = buffer.back() = std::byte(t);
                auto shared = pool->share(std::move(buffer));
                std::this_thread::yield();  // another thread may take and write meanwhile: not this buffer
                if (shared->front() != std::byte(t) || (*shared)[size / 2] != std::byte(t) ||
                    shared->back() != std::byte(t))
                    ++wrong;
            }
        });
    }
    for (auto& thread : threads) thread.join();
    CHECK(wrong == 0);
    CHECK(pool->kept_bytes() <= 16 * MiB);
    // What it says it keeps, it hands out: all of it, then nothing.
    std::size_t kept = pool->kept_bytes();
    std::vector<Bytes> taken;
    while (pool->kept_bytes() != 0 && taken.size() < 1000) {
        const std::size_t before = pool->kept_bytes();
        for (std::size_t size = 8 * (64 << 10); size >= (64 << 10); size -= 64 << 10) {
            taken.push_back(pool->take(size));
            if (pool->kept_bytes() != before) break;
        }
    }
    std::size_t capacities = 0;
    for (const Bytes& buffer : taken) capacities += buffer.capacity();
    CHECK(pool->kept_bytes() == 0);
    CHECK(capacities >= kept);
}
