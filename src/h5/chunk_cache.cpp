#include "h5/chunk_cache.h"

#include "h5/chunk_counts.h"
#include "util/error.h"

namespace h5swmrfs::h5 {

ChunkCache::Chunk ChunkCache::get(const Key& key, const std::function<Chunk()>& decode) {
    std::promise<Outcome> promise;
    {
        std::unique_lock guard(mutex_);
        if (auto it = entries_.find(key); it != entries_.end()) {
            ages_.splice(ages_.begin(), ages_, it->second.age);
            chunk_counts::kept();
            return it->second.chunk;
        }
        if (auto it = decoding_.find(key); it != decoding_.end()) {
            std::shared_future<Outcome> pending = it->second;
            guard.unlock();
            chunk_counts::shared();
            const Outcome& outcome = pending.get();
            if (!outcome.chunk) throw Error(outcome.error, outcome.message);
            return outcome.chunk;
        }
        decoding_.emplace(key, promise.get_future().share());
    }
    Outcome outcome;
    try {
        outcome.chunk = decode();
    } catch (...) {
        outcome.error = EIO;
        outcome.message = "the chunk could not be decoded";
        try {
            throw;
        } catch (const std::exception& e) {
            outcome.error = errno_of(e);
            outcome.message = e.what();
        } catch (...) {
        }
        {
            std::lock_guard guard(mutex_);
            decoding_.erase(key);
        }
        promise.set_value(std::move(outcome));
        chunk_counts::failed();
        throw;
    }
    chunk_counts::decoded(outcome.chunk ? outcome.chunk->size() : 0);
    {
        std::lock_guard guard(mutex_);
        decoding_.erase(key);
        keep(key, outcome.chunk);
    }
    Chunk chunk = outcome.chunk;
    promise.set_value(std::move(outcome));
    return chunk;
}

void ChunkCache::keep(const Key& key, const Chunk& chunk) {
    if (retired_ || !chunk || chunk->capacity() > capacity_ / 2) return;  // one chunk never evicts all the rest
    ages_.push_front(key);
    entries_.emplace(key, Entry{chunk, ages_.begin(), 0});
    bytes_ += chunk->capacity();
    while (bytes_ > capacity_ && !ages_.empty()) {
        auto oldest = entries_.find(ages_.back());
        bytes_ -= oldest->second.chunk->capacity();
        entries_.erase(oldest);
        ages_.pop_back();
    }
}

bool ChunkCache::has(const Key& key) {
    std::lock_guard guard(mutex_);
    return entries_.count(key) || decoding_.count(key);
}

void ChunkCache::read_out(const Key& key, std::size_t bytes, std::size_t whole) {
    std::lock_guard guard(mutex_);
    auto it = entries_.find(key);
    if (it == entries_.end()) return;
    it->second.read_out += bytes;
    if (it->second.read_out < whole) return;
    bytes_ -= it->second.chunk->capacity();
    ages_.erase(it->second.age);
    entries_.erase(it);
}

void ChunkCache::retire() {
    std::lock_guard guard(mutex_);
    retired_ = true;
    entries_.clear();
    ages_.clear();
    bytes_ = 0;
}

std::size_t ChunkCache::bytes() const {
    std::lock_guard guard(mutex_);
    return bytes_;
}

}  // namespace h5swmrfs::h5
