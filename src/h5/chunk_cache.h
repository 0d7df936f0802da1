// Decoded chunks of one generation of the file, kept up to a byte budget (least recently
// used out first), so that a chunk larger than a read is decoded once, and what read-ahead
// decoded is there when the reader comes. Each chunk is decoded by one thread: another that
// asks for it meanwhile waits for that decoding.
#pragma once

#include <cstddef>
#include <cstdint>
#include <functional>
#include <future>
#include <list>
#include <memory>
#include <mutex>
#include <string>
#include <unordered_map>
#include <vector>

#include "util/bytes.h"

namespace h5swmrfs::h5 {

class ChunkCache {
public:
    using Chunk = std::shared_ptr<const util::Bytes>;
    struct Key {
        std::uint64_t dataset = 0;  // the dataset's object address
        std::uint64_t chunk = 0;    // the chunk's index in C order over the chunk grid
        bool operator==(const Key&) const = default;
    };

    explicit ChunkCache(std::size_t capacity_bytes) : capacity_(capacity_bytes) {}

    // The chunk `key`: kept, being decoded by another thread (waits for it), or decoded now
    // by `decode` on this thread. What `decode` throws is thrown to this thread, and to every
    // waiter as an Error of the same errno and message; nothing is kept.
    Chunk get(const Key& key, const std::function<Chunk()>& decode);
    // Whether `key` is kept or being decoded (read-ahead leaves those alone).
    bool has(const Key& key);
    // Counts `bytes` of `key` read out of it; once `whole` were (all the dataset's bytes in
    // it, whatever the order of the reads), lets it go: drop-behind, its memory serves the
    // next decoding once the answers made of it are sent, where keeping it would take fresh
    // pages for every chunk of a long read.
    void read_out(const Key& key, std::size_t bytes, std::size_t whole);
    // Drops everything and keeps nothing from now on (the generation is over).
    void retire();

    std::size_t bytes() const;  // what the kept chunks hold (their buffers' capacities)
    std::size_t capacity() const noexcept { return capacity_; }

private:
    struct KeyHash {
        std::size_t operator()(const Key& key) const noexcept {
            return std::hash<std::uint64_t>()(key.dataset * 0x9e3779b97f4a7c15ull ^ key.chunk);
        }
    };
    struct Entry {
        Chunk chunk;
        std::list<Key>::iterator age;
        std::size_t read_out = 0;  // bytes read out of it so far
    };
    void keep(const Key& key, const Chunk& chunk);  // mutex_ held

    const std::size_t capacity_;
    mutable std::mutex mutex_;
    std::list<Key> ages_;  // most recently used first
    std::unordered_map<Key, Entry, KeyHash> entries_;
    // A decoding's outcome: the chunk, or why not (as a value: each waiter throws its own).
    struct Outcome {
        Chunk chunk;
        int error = 0;
        std::string message;
    };
    std::unordered_map<Key, std::shared_future<Outcome>, KeyHash> decoding_;
    std::size_t bytes_ = 0;
    bool retired_ = false;
};

}  // namespace h5swmrfs::h5
