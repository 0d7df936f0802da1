// The direct read path: a dataset's stored bytes read with pread(2) on a descriptor of the
// file and decoded on a pool of threads, with no HDF5 call but the lookup of where a chunk
// lies (once per chunk and generation). Reads of different datasets, and the chunks of
// one read, so run at once; HDF5 runs one call at a time.
//
// Valid for one generation of the lock, under a shared hold: nobody changes the file
// meanwhile. A writable (journaled) open of the file must never use it: its changes are
// not in the file yet.
#pragma once

#include <atomic>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <unordered_map>
#include <vector>

#include "h5/chunk_cache.h"
#include "h5/hyperslab.h"
#include "h5/storage_map.h"
#include "util/buffer_pool.h"
#include "util/fd.h"
#include "util/worker_pool.h"

namespace h5swmrfs::h5 {

// What the datasets of one generation share: the file's descriptor, the workers, the
// decoded chunks.
struct ChunkSource {
    ChunkSource(util::Fd fd_, std::uint64_t file_size_, util::WorkerPool& pool_,
                std::shared_ptr<util::BufferPool> buffers_, std::size_t cache_bytes)
        : fd(std::move(fd_)), file_size(file_size_), pool(pool_), buffers(std::move(buffers_)), cache(cache_bytes) {}
    util::Fd fd;
    std::uint64_t file_size;  // as it is for this generation (the shared hold keeps it so)
    util::WorkerPool& pool;
    std::shared_ptr<util::BufferPool> buffers;  // decoded chunks' memory, used again
    ChunkCache cache;
};

// Bytes of a dataset's byte form as they lie in the file: [offset, offset + length) of the
// descriptor `source` keeps open. An answer can be spliced from there, never copied by the daemon.
struct StoredRange {
    std::shared_ptr<const ChunkSource> source;
    std::uint64_t offset = 0;
    std::size_t length = 0;
};

// An answer that lies in decoded chunks: its bytes are `parts`, in order, each inside one of
// `chunks`, which it keeps alive until it is sent (the cache may let them go meanwhile), or
// inside `gathered`, where they were copied when they lay in too many pieces.
struct DecodedRange {
    DecodedRange() = default;
    DecodedRange(DecodedRange&&) = default;  // `parts` still point where they did
    DecodedRange& operator=(DecodedRange&&) = default;
    DecodedRange(const DecodedRange&) = delete;  // a copy's parts would be in the original's `gathered`

    std::vector<ChunkCache::Chunk> chunks;
    util::Bytes gathered;
    std::vector<std::span<const std::byte>> parts;

    std::size_t size() const noexcept;
    // Copies the parts into `out` (at least size() bytes); returns size().
    std::size_t copy_to(std::span<std::byte> out) const noexcept;
};

// One dataset in one generation.
class DirectDataset : public std::enable_shared_from_this<DirectDataset> {
public:
    DirectDataset(std::shared_ptr<ChunkSource> source, StorageMap map, std::uint64_t address, std::string name);

    // Bytes [offset, offset + out.size()) of the byte form into `out`, as DatasetReader::read.
    // `dataset` (an open handle of it in this generation) is what chunk lookups ask HDF5.
    // `keep` keeps the file from changing (the lock's hold): read-ahead this read starts
    // holds it until done; without it nothing is read ahead. Throws Error(EIO) naming the
    // dataset and chunk for what does not decode.
    std::size_t read(hid_t dataset, std::uint64_t offset, std::span<std::byte> out,
                     const std::shared_ptr<const void>& keep);

    // What read() would give for [offset, offset + size), where the dataset is chunked: as
    // parts of its decoded chunks, copied nowhere. Else empty. Same `keep` and errors as read().
    std::optional<DecodedRange> decoded(hid_t dataset, std::uint64_t offset, std::size_t size,
                                        const std::shared_ptr<const void>& keep);

    // The bytes read() would give for [offset, offset + size), as they lie in the file, when
    // they lie there as read: contiguous, allocated, in the byte order read. Else empty.
    std::optional<StoredRange> stored(std::uint64_t offset, std::size_t size) const;

    const StorageMap& map() const noexcept { return map_; }

private:
    using Chunk = ChunkCache::Chunk;
    void read_contiguous(std::uint64_t byte_offset, std::span<std::byte> target);
    // Whether a read of [offset, offset + length) continues the stream of reads before it
    // (and moves the stream's front past it).
    bool continues_stream(std::uint64_t offset, std::uint64_t length);
    // Elements [first, first + count) as parts of their chunks, decoded on the pool (in
    // element order; `skip` bytes off the front, `length` bytes in all); `chunks` are those
    // they touch (chunks_of). Counts what it read out of each chunk (ChunkCache::read_out).
    DecodedRange read_chunked(hid_t dataset, const ElementSpan& span, const std::vector<std::uint64_t>& chunks);
    // The bytes of the dataset that lie in `chunk` (fewer in an edge chunk).
    std::uint64_t bytes_in(std::uint64_t chunk) const;
    // The byte of the byte form just past the last element of `chunk`.
    std::uint64_t chunk_end(std::uint64_t chunk) const;
    // Posts the decoding of the chunks of the next reads' worth of bytes (a read of `length`
    // bytes ending at byte `from`), but for those that read touches (`own`): its own thread
    // decodes them.
    void read_ahead(hid_t dataset, const std::vector<std::uint64_t>& own, std::uint64_t from, std::uint64_t length,
                    const std::shared_ptr<const void>& keep);
    // The chunks (indices in C order over the chunk grid) that elements [first, first + count) touch.
    std::vector<std::uint64_t> chunks_of(std::uint64_t first, std::uint64_t count, std::size_t limit) const;
    std::vector<ChunkPlace> places(hid_t dataset, const std::vector<std::uint64_t>& chunks);
    Chunk decode(std::uint64_t chunk, const ChunkPlace& place) const;
    Chunk fill_chunk() const;
    std::string chunk_name(std::uint64_t chunk) const;
    void fill(std::span<std::byte> target) const;

    std::shared_ptr<ChunkSource> source_;
    const StorageMap map_;
    const std::uint64_t address_;
    const std::string name_;
    std::uint64_t elements_ = 0;
    std::vector<std::uint64_t> grid_;  // chunks along each axis

    std::mutex places_mutex_;
    std::unordered_map<std::uint64_t, ChunkPlace> places_;  // found so far, this generation
    mutable std::once_flag fill_once_;
    mutable Chunk fill_chunk_;
    std::atomic<std::uint64_t> next_offset_{0};  // the front of its readers: the furthest end of a read
};

// The direct path of one generation: which datasets it takes, and their maps.
class DirectReads {
public:
    // Opens `file` read-only. Throws Error when it cannot.
    DirectReads(const std::string& file, util::WorkerPool& pool, std::shared_ptr<util::BufferPool> buffers,
                std::size_t cache_bytes);

    // The direct reader of the dataset at object address `address`, open as `dataset` and
    // read into `memory_type`; null when the direct path does not take it (H5Dread does).
    std::shared_ptr<DirectDataset> dataset(hid_t dataset, std::uint64_t address, hid_t memory_type,
                                           const std::string& name);
    // The generation is over: decoded chunks are dropped now, not when the last reader goes.
    void retire();

private:
    std::shared_ptr<ChunkSource> source_;
    std::mutex mutex_;
    std::unordered_map<std::uint64_t, std::shared_ptr<DirectDataset>> datasets_;  // null: not taken
};

}  // namespace h5swmrfs::h5
