#include "util/buffer_pool.h"

#include <new>

namespace h5swmrfs::util {

std::shared_ptr<BufferPool> BufferPool::create(std::size_t budget_bytes) {
    return std::shared_ptr<BufferPool>(new BufferPool(budget_bytes));
}

Bytes BufferPool::take(std::size_t size) {
    Bytes buffer;
    {
        std::lock_guard guard(mutex_);
        auto best = kept_.end();
        for (auto it = kept_.begin(); it != kept_.end(); ++it)
            if (it->capacity() >= size && it->capacity() / 2 <= size &&
                (best == kept_.end() || it->capacity() < best->capacity()))
                best = it;
        if (best != kept_.end()) {
            kept_bytes_ -= best->capacity();
            buffer = std::move(*best);
            *best = std::move(kept_.back());
            kept_.pop_back();
        }
    }
    buffer.resize(size);  // within its capacity when kept: neither moved nor zeroed
    return buffer;
}

void BufferPool::give(Bytes buffer) noexcept {
    // Small buffers come from malloc's own free lists, without page faults.
    if (buffer.capacity() < kSmallest) return;
    std::lock_guard guard(mutex_);
    // Else freed as `buffer` goes (push_back leaves it as it was if it cannot grow).
    if (kept_.size() >= kMostKept || kept_bytes_ + buffer.capacity() > budget_) return;
    try {
        kept_.push_back(std::move(buffer));
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
