#include "h5/direct_read.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <functional>

#include "h5/hyperslab.h"
#include "util/log.h"

namespace h5swmrfs::h5 {
namespace {

// Read-ahead covers the bytes of the next four chunks (or four reads, if larger), at most an
// eighth of the cache, and at most this many chunks (such a window can cross many chunks of
// a dataset whose rows are short).
constexpr std::size_t kMaxChunksAhead = 8;
// A read that crosses more rows of chunks than this (short rows in narrow chunks) is
// answered from one buffer they are copied into, not from the chunks where they lie.
constexpr std::size_t kMostRows = 1024;

void pread_exactly(int fd, std::span<std::byte> out, std::uint64_t at, const std::string& what) {
    std::size_t done = 0;
    while (done < out.size()) {
        const ssize_t n = ::pread(fd, out.data() + done, out.size() - done, static_cast<off_t>(at + done));
        if (n < 0) {
            if (errno == EINTR) continue;
            throw Error(errno, what + ": cannot read the file: " + std::strerror(errno));
        }
        if (n == 0) throw Error(EIO, what + ": the file ends before its data");
        done += static_cast<std::size_t>(n);
    }
}

std::uint64_t linear(std::span<const std::uint64_t> dims, std::span<const std::uint64_t> at) {
    std::uint64_t index = 0;
    for (std::size_t d = 0; d < dims.size(); ++d) index = index * dims[d] + at[d];
    return index;
}

std::vector<std::uint64_t> unlinear(std::span<const std::uint64_t> dims, std::uint64_t index) {
    std::vector<std::uint64_t> at(dims.size());
    for (std::size_t d = dims.size(); d-- > 0;) {
        at[d] = index % dims[d];
        index /= dims[d];
    }
    return at;
}

}  // namespace

DirectDataset::DirectDataset(std::shared_ptr<ChunkSource> source, StorageMap map, std::uint64_t address, std::string name)
    : source_(std::move(source)), map_(std::move(map)), address_(address), name_(std::move(name)) {
    elements_ = element_count(map_.shape);
    for (std::size_t d = 0; d < map_.chunk.size(); ++d) grid_.push_back((map_.shape[d] + map_.chunk[d] - 1) / map_.chunk[d]);
}

std::size_t DecodedRange::size() const noexcept {
    std::size_t total = 0;
    for (const auto& part : parts) total += part.size();
    return total;
}

std::size_t DecodedRange::copy_to(std::span<std::byte> out) const noexcept {
    std::size_t at = 0;
    for (const auto& part : parts) {
        std::memcpy(out.data() + at, part.data(), part.size());
        at += part.size();
    }
    return at;
}

bool DirectDataset::continues_stream(std::uint64_t offset, std::uint64_t length) {
    // A read at or near the front of what was read continues a stream, even when the
    // kernel's read-ahead sends its requests several at once, not in order.
    const std::uint64_t end = offset + length;
    const std::uint64_t slack = 2 * std::max<std::uint64_t>(length, map_.chunk_bytes());
    std::uint64_t front = next_offset_.load();
    const bool sequential = offset == 0 || (offset <= front + length && end + slack >= front);
    if (offset == 0)
        next_offset_ = end;
    else
        while (front < end && !next_offset_.compare_exchange_weak(front, end)) {
        }
    return sequential;
}

std::optional<DecodedRange> DirectDataset::decoded(hid_t dataset, std::uint64_t offset, std::size_t size,
                                                   const std::shared_ptr<const void>& keep) {
    if (!map_.chunked) return std::nullopt;
    const ElementSpan span = elements_for_bytes(elements_, map_.element_size, offset, size);
    if (span.count == 0) return DecodedRange{};
    // Asked for before this read's own chunks: a worker starts on the next chunk while this
    // thread decodes the current one.
    const std::vector<std::uint64_t> chunks = chunks_of(span.first, span.count, static_cast<std::size_t>(-1));
    if (continues_stream(offset, span.length) && keep)
        read_ahead(dataset, chunks, offset + span.length, span.length, keep);
    return read_chunked(dataset, span, chunks);
}

std::size_t DirectDataset::read(hid_t dataset, std::uint64_t offset, std::span<std::byte> out,
                                 const std::shared_ptr<const void>& keep) {
    if (std::optional<DecodedRange> range = decoded(dataset, offset, out.size(), keep)) return range->copy_to(out);
    const std::size_t element_size = map_.element_size;
    const ElementSpan span = elements_for_bytes(elements_, element_size, offset, out.size());
    if (span.count == 0) return 0;
    const std::uint64_t touched = span.count * element_size;
    util::Bytes scratch;
    std::span<std::byte> target = out.first(std::min<std::uint64_t>(touched, out.size()));
    if (span.skip != 0 || span.length != touched) {
        scratch.resize(touched);
        target = scratch;
    }
    read_contiguous(span.first * element_size, target);
    if (!scratch.empty()) std::memcpy(out.data(), scratch.data() + span.skip, span.length);
    return span.length;
}

void DirectDataset::fill(std::span<std::byte> target) const {
    const std::size_t size = map_.element_size;
    if (std::all_of(map_.fill.begin(), map_.fill.end(), [](std::byte b) { return b == std::byte{0}; })) {
        std::memset(target.data(), 0, target.size());
        return;
    }
    for (std::size_t at = 0; at + size <= target.size(); at += size) std::memcpy(target.data() + at, map_.fill.data(), size);
}

std::optional<StoredRange> DirectDataset::stored(std::uint64_t offset, std::size_t size) const {
    if (map_.chunked || map_.address == StorageMap::kUnallocated || !map_.swaps.empty()) return std::nullopt;
    const std::uint64_t total = elements_ * map_.element_size;
    const std::uint64_t length = offset >= total ? 0 : std::min<std::uint64_t>(size, total - offset);
    // Past its storage, or past the end of the file (cut behind the lock's back): read()
    // says why not, where a splice would answer short.
    if (offset + length > map_.stored_bytes || map_.address + offset + length > source_->file_size) return std::nullopt;
    return StoredRange{source_, map_.address + offset, static_cast<std::size_t>(length)};
}

void DirectDataset::read_contiguous(std::uint64_t byte_offset, std::span<std::byte> target) {
    if (map_.address == StorageMap::kUnallocated) {
        fill(target);
        return;
    }
    if (byte_offset + target.size() > map_.stored_bytes)
        throw Error(EIO, name_ + ": the data is larger than its storage (" + std::to_string(map_.stored_bytes) + " bytes)");
    pread_exactly(source_->fd.get(), target, map_.address + byte_offset, name_);
    swap_bytes(target, map_.element_size, map_.swaps);
}

std::vector<std::uint64_t> DirectDataset::chunks_of(std::uint64_t first, std::uint64_t count, std::size_t limit) const {
    std::vector<std::uint64_t> chunks;
    const std::size_t rank = map_.shape.size();
    for (const Box& box : cover_elements(map_.shape, first, count)) {
        std::vector<std::uint64_t> lo(rank), hi(rank), at(rank);
        for (std::size_t d = 0; d < rank; ++d) {
            lo[d] = box.start[d] / map_.chunk[d];
            hi[d] = (box.start[d] + box.count[d] - 1) / map_.chunk[d];
        }
        at = lo;
        for (;;) {
            const std::uint64_t index = linear(grid_, at);
            if (std::find(chunks.begin(), chunks.end(), index) == chunks.end()) {
                chunks.push_back(index);
                if (chunks.size() >= limit) return chunks;
            }
            std::size_t d = rank;
            while (d-- > 0) {
                if (at[d] < hi[d]) {
                    ++at[d];
                    break;
                }
                at[d] = lo[d];
            }
            if (d == static_cast<std::size_t>(-1)) break;
        }
    }
    return chunks;
}

std::vector<ChunkPlace> DirectDataset::places(hid_t dataset, const std::vector<std::uint64_t>& chunks) {
    std::vector<ChunkPlace> found(chunks.size());
    std::vector<std::size_t> missing;
    {
        std::lock_guard guard(places_mutex_);
        for (std::size_t i = 0; i < chunks.size(); ++i) {
            auto it = places_.find(chunks[i]);
            if (it == places_.end()) missing.push_back(i);
            else found[i] = it->second;
        }
    }
    if (missing.empty()) return found;
    // HDF5, outside the mutex: another thread's lookup may be waiting for HDF5's own lock.
    for (std::size_t i : missing) {
        std::vector<std::uint64_t> start = unlinear(grid_, chunks[i]);
        for (std::size_t d = 0; d < start.size(); ++d) start[d] *= map_.chunk[d];
        found[i] = chunk_place(dataset, start);
    }
    std::lock_guard guard(places_mutex_);
    for (std::size_t i : missing) places_.emplace(chunks[i], found[i]);
    return found;
}

std::string DirectDataset::chunk_name(std::uint64_t chunk) const {
    std::string text = "chunk (";
    const std::vector<std::uint64_t> at = unlinear(grid_, chunk);
    for (std::size_t d = 0; d < at.size(); ++d) text += (d ? ", " : "") + std::to_string(at[d] * map_.chunk[d]);
    return text + ")";
}

DirectDataset::Chunk DirectDataset::fill_chunk() const {
    std::call_once(fill_once_, [this] {
        auto chunk = std::make_shared<util::Bytes>(map_.chunk_bytes());
        fill(*chunk);
        fill_chunk_ = std::move(chunk);
    });
    return fill_chunk_;
}

DirectDataset::Chunk DirectDataset::decode(std::uint64_t chunk, const ChunkPlace& place) const {
    if (place.address == StorageMap::kUnallocated) return fill_chunk();
    util::BufferPool& buffers = *source_->buffers;
    try {
        util::Bytes decoded;
        if (map_.filters.empty()) {
            if (place.size != map_.chunk_bytes())
                throw Error(EIO, "stored as " + std::to_string(place.size) + " bytes, a chunk holds " +
                                     std::to_string(map_.chunk_bytes()));
            decoded = buffers.take(map_.chunk_bytes());
            pread_exactly(source_->fd.get(), decoded, place.address, "stored chunk");
        } else {
            // Every stage's bytes fit these as they are (neither grown nor moved).
            const std::size_t most = decoding_bytes(map_.filters, map_.chunk_bytes());
            decoded = buffers.take(most);
            util::Bytes stored = buffers.take(place.size);
            util::Bytes scratch = buffers.take(stages_making_bytes(map_.filters, place.filter_mask) > 1 ? most : 0);
            pread_exactly(source_->fd.get(), stored, place.address, "stored chunk");
            decode_chunk(stored, map_.filters, place.filter_mask, map_.chunk_bytes(), decoded, scratch);
            buffers.give(std::move(stored));
            buffers.give(std::move(scratch));
        }
        swap_bytes(decoded, map_.element_size, map_.swaps);
        return buffers.share(std::move(decoded));
    } catch (const Error& e) {
        throw Error(e.code(), name_ + ": " + chunk_name(chunk) + " at byte " + std::to_string(place.address) + ": " + e.what());
    }
}

std::uint64_t DirectDataset::bytes_in(std::uint64_t chunk) const {
    const std::vector<std::uint64_t> at = unlinear(grid_, chunk);
    std::uint64_t elements = 1;
    for (std::size_t d = 0; d < at.size(); ++d)
        elements *= std::min(map_.chunk[d], map_.shape[d] - at[d] * map_.chunk[d]);
    return elements * map_.element_size;
}

std::uint64_t DirectDataset::chunk_end(std::uint64_t chunk) const {
    std::vector<std::uint64_t> last = unlinear(grid_, chunk);
    for (std::size_t d = 0; d < last.size(); ++d)
        last[d] = std::min(last[d] * map_.chunk[d] + map_.chunk[d], map_.shape[d]) - 1;
    return (linear(map_.shape, last) + 1) * map_.element_size;
}

DecodedRange DirectDataset::read_chunked(hid_t dataset, const ElementSpan& span,
                                         const std::vector<std::uint64_t>& chunks) {
    const std::vector<ChunkPlace> where = places(dataset, chunks);
    DecodedRange range;
    range.chunks.resize(chunks.size());
    std::vector<std::function<void()>> tasks;
    tasks.reserve(chunks.size());
    for (std::size_t i = 0; i < chunks.size(); ++i) {
        tasks.emplace_back([this, &chunks, &where, &range, i] {
            range.chunks[i] = source_->cache.get({address_, chunks[i]}, [&] { return decode(chunks[i], where[i]); });
        });
    }
    source_->pool.run_all(tasks);

    // Each box of the range, cut by the chunks it meets, a row (last axis) at a time: where
    // each row lies in the answer (`to`, in the elements' bytes) and in its chunk.
    const std::size_t rank = map_.shape.size();
    const std::size_t element_size = map_.element_size;
    std::vector<std::uint64_t> taken(chunks.size(), 0);  // bytes read out of each
    auto each_row = [&](auto&& visit) {
        for (const Box& box : cover_elements(map_.shape, span.first, span.count)) {
            for (std::size_t i = 0; i < chunks.size(); ++i) {
                std::vector<std::uint64_t> origin = unlinear(grid_, chunks[i]);
                for (std::size_t d = 0; d < rank; ++d) origin[d] *= map_.chunk[d];
                std::vector<std::uint64_t> lo(rank), hi(rank);
                bool meets = true;
                for (std::size_t d = 0; d < rank && meets; ++d) {
                    lo[d] = std::max(box.start[d], origin[d]);
                    hi[d] = std::min(box.start[d] + box.count[d], origin[d] + map_.chunk[d]);
                    meets = lo[d] < hi[d];
                }
                if (!meets) continue;
                const std::byte* chunk = range.chunks[i]->data();
                const std::uint64_t row = (hi[rank - 1] - lo[rank - 1]) * element_size;
                std::vector<std::uint64_t> at = lo, local(rank);
                for (;;) {
                    for (std::size_t d = 0; d < rank; ++d) local[d] = at[d] - origin[d];
                    if (!visit(i, (linear(map_.shape, at) - span.first) * element_size,
                               chunk + linear(map_.chunk, local) * element_size, row))
                        return false;
                    std::size_t d = rank - 1;
                    while (d-- > 0) {
                        if (++at[d] < hi[d]) break;
                        at[d] = lo[d];
                    }
                    if (d == static_cast<std::size_t>(-1)) break;
                }
            }
        }
        return true;
    };

    // Few enough rows (a dataset of long rows, or of one axis): the answer is made of them
    // where they lie, sorted by where they go, merged where they follow each other in memory.
    struct Row {
        std::uint64_t to;
        const std::byte* from;
        std::uint64_t length;
    };
    std::vector<Row> rows;
    const bool few = each_row([&](std::size_t i, std::uint64_t to, const std::byte* from, std::uint64_t length) {
        if (rows.size() == kMostRows) return false;
        taken[i] += length;
        rows.push_back({to, from, length});
        return true;
    });
    if (few) {
        std::sort(rows.begin(), rows.end(), [](const Row& a, const Row& b) { return a.to < b.to; });
        // The bytes before `skip` and past `length` cut off.
        std::uint64_t skip = span.skip, left = span.length;
        for (const Row& row : rows) {
            if (left == 0) break;
            if (skip >= row.length) {
                skip -= row.length;
                continue;
            }
            const std::byte* from = row.from + skip;
            const std::uint64_t length = std::min(row.length - skip, left);
            skip = 0;
            left -= length;
            std::span<const std::byte>* back = range.parts.empty() ? nullptr : &range.parts.back();
            if (back && back->data() + back->size() == from)
                *back = {back->data(), back->size() + length};
            else
                range.parts.emplace_back(from, length);
        }
    } else {
        // Many short rows: copied into one buffer, in the order they come.
        std::fill(taken.begin(), taken.end(), 0);
        range.gathered.resize(span.count * element_size);
        each_row([&](std::size_t i, std::uint64_t to, const std::byte* from, std::uint64_t length) {
            taken[i] += length;
            std::memcpy(range.gathered.data() + to, from, length);
            return true;
        });
        range.parts.emplace_back(range.gathered.data() + span.skip, span.length);
    }
    for (std::size_t i = 0; i < chunks.size(); ++i) source_->cache.read_out({address_, chunks[i]}, taken[i], bytes_in(chunks[i]));
    return range;
}

void DirectDataset::read_ahead(hid_t dataset, const std::vector<std::uint64_t>& own, std::uint64_t from,
                               std::uint64_t length, const std::shared_ptr<const void>& keep) {
    const std::uint64_t chunk_bytes = map_.chunk_bytes();
    const std::uint64_t window =
        std::min<std::uint64_t>(4 * std::max<std::uint64_t>(length, chunk_bytes), source_->cache.capacity() / 8);
    const ElementSpan span = elements_for_bytes(elements_, map_.element_size, from, window);
    if (span.count == 0) return;
    std::vector<std::uint64_t> chunks = chunks_of(span.first, span.count, kMaxChunksAhead + own.size());
    std::erase_if(chunks, [&](std::uint64_t chunk) {
        return std::find(own.begin(), own.end(), chunk) != own.end() || source_->cache.has({address_, chunk});
    });
    if (chunks.size() > kMaxChunksAhead) chunks.resize(kMaxChunksAhead);
    if (chunks.empty()) return;
    const std::vector<ChunkPlace> where = places(dataset, chunks);
    const std::size_t queue = 4 * source_->pool.size();
    for (std::size_t i = 0; i < chunks.size(); ++i) {
        if (where[i].address == StorageMap::kUnallocated) continue;
        auto task = [self = shared_from_this(), chunk = chunks[i], place = where[i], keep] {
            // The reader may have come past it meanwhile (the kernel's own read-ahead sends
            // several requests at once), read it itself and let it go: not decoded again.
            if (self->chunk_end(chunk) <= self->next_offset_.load()) return;
            try {
                self->source_->cache.get({self->address_, chunk}, [&] { return self->decode(chunk, place); });
            } catch (const std::exception& e) {
                // The read that needs it decodes it again and reports.
                log::debug("read-ahead: ", e.what());
            }
        };
        if (!source_->pool.post(std::move(task), queue)) break;
    }
}

DirectReads::DirectReads(const std::string& file, util::WorkerPool& pool, std::shared_ptr<util::BufferPool> buffers,
                         std::size_t cache_bytes) {
    util::Fd fd(::open(file.c_str(), O_RDONLY | O_CLOEXEC));
    if (!fd) throw Error(errno, file + ": cannot open for direct reads: " + std::strerror(errno));
    struct stat st {};
    if (::fstat(fd.get(), &st) != 0) throw Error(errno, file + ": cannot stat for direct reads: " + std::strerror(errno));
    source_ = std::make_shared<ChunkSource>(std::move(fd), static_cast<std::uint64_t>(st.st_size), pool, std::move(buffers),
                                            cache_bytes);
}

std::shared_ptr<DirectDataset> DirectReads::dataset(hid_t dataset, std::uint64_t address, hid_t memory_type,
                                                    const std::string& name) {
    {
        std::lock_guard guard(mutex_);
        if (auto it = datasets_.find(address); it != datasets_.end()) return it->second;
    }
    std::string why;
    std::shared_ptr<DirectDataset> direct;
    if (std::optional<StorageMap> map = storage_map(dataset, memory_type, why)) {
        log::debug(name, ": read directly (", map->chunked ? "chunked" : "contiguous", ", ", map->filters.size(),
                   " filters, ", map->swaps.empty() ? "stored byte order" : "bytes swapped", ")");
        direct = std::make_shared<DirectDataset>(source_, std::move(*map), address, name);
    } else {
        log::debug(name, ": read through HDF5 (", why, ")");
    }
    std::lock_guard guard(mutex_);
    return datasets_.emplace(address, std::move(direct)).first->second;
}

void DirectReads::retire() {
    source_->cache.retire();
    std::lock_guard guard(mutex_);
    datasets_.clear();
}

}  // namespace h5swmrfs::h5
