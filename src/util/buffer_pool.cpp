#include "util/buffer_pool.h"

#include <algorithm>
#include <new>

namespace h5swmrfs::util {

std::shared_ptr<BufferPool> BufferPool::create(std::size_t budget_bytes) {
    return std::shared_ptr<BufferPool>(new BufferPool(budget_bytes));
}

namespace {
// How much larger than asked a kept buffer may be to serve: sizes that differ a little
// (compressed chunks) use each other's buffers, and none holds much more than it is used for.
std::size_t slack(std::size_t size) { return std::max(BufferPool::kSmallest, size / 8); }
}  // namespace

Bytes BufferPool::take(std::size_t size) {
    Bytes buffer;
    {
        std::lock_guard guard(mutex_);
        auto best = kept_.end();
        for (auto it = kept_.begin(); it != kept_.end(); ++it)
            if (it->capacity() >= size && it->capacity() - size <= slack(size) &&
                (best == kept_.end() || it->capacity() < best->capacity()))
                best = it;
        if (best != kept_.end()) {
            kept_bytes_ -= best->capacity();
            buffer = std::move(*best);
            kept_.erase(best);
        }
    }
    // New ones a little larger than asked, in steps, so that they serve sizes near this one.
    if (buffer.capacity() < size && size >= kSmallest) buffer.reserve((size + kSmallest - 1) / kSmallest * kSmallest);
    buffer.resize(size);  // within its capacity: neither moved nor zeroed
    return buffer;
}

void BufferPool::give(Bytes buffer) noexcept {
    // Small buffers come from malloc's own free lists, without page faults; one larger than
    // the budget is not worth keeping.
    if (buffer.capacity() < kSmallest || buffer.capacity() > budget_) return;
    std::lock_guard guard(mutex_);
    // The oldest kept make room (what goes is freed as it leaves the pool): the pool keeps
    // the sizes now in use.
    while (!kept_.empty() && (kept_.size() >= kMostKept || kept_bytes_ + buffer.capacity() > budget_)) {
        kept_bytes_ -= kept_.front().capacity();
        kept_.erase(kept_.begin());
    }
    try {
        kept_.push_back(std::move(buffer));  // leaves `buffer` as it was if it cannot grow: freed
        kept_bytes_ += kept_.back().capacity();
    } catch (const std::bad_alloc&) {
    }
}

std::shared_ptr<const Bytes> BufferPool::share(Bytes buffer) {
    struct GiveBack {
        std::shared_ptr<BufferPool> pool;
        void operator()(const Bytes* shared) const noexcept {
            pool->give(std::move(*const_cast<Bytes*>(shared)));
            delete shared;
        }
    };
    return {new Bytes(std::move(buffer)), GiveBack{shared_from_this()}};
}

std::size_t BufferPool::kept_bytes() const {
    std::lock_guard guard(mutex_);
    return kept_bytes_;
}

}  // namespace h5swmrfs::util
