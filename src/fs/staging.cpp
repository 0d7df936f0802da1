#include "fs/staging.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>

#include "util/error.h"
#include "util/file_io.h"

namespace h5swmrfs::fs {
namespace {

constexpr std::uint64_t kMemoryLimit = 8u << 20;

void write_spilled(int fd, const std::byte* data, std::size_t size, std::uint64_t offset) {
    if (int err = util::write_all(fd, data, size, offset))
        throw Error(err, std::string("staging file: ") + std::strerror(err));
}

void read_spilled(int fd, std::byte* data, std::size_t size, std::uint64_t offset) {
    if (int err = util::read_all(fd, data, size, offset))
        throw Error(err, std::string("staging file: ") + std::strerror(err));
}

int open_temporary(const std::string& directory) {
    std::string name;
    const int fd = util::open_temporary(directory, ".h5swmrfs-staging.", 0600, name);
    if (fd >= 0 && !name.empty()) ::unlink(name.c_str());
    return fd;
}

}  // namespace

Staging::Staging(std::uint64_t size, bool replaces, std::string spill_directory)
    : size_(replaces ? 0 : size), base_size_(size), size_was_set_(replaces), replaces_(replaces),
      dirty_(replaces && size != 0),
      spill_directory_(std::move(spill_directory)) {}

void Staging::spill() {
    fd_.reset(open_temporary(spill_directory_));
    if (!fd_) fd_.reset(open_temporary("/tmp"));
    if (!fd_) throw Error(errno, std::string("cannot make a staging file: ") + std::strerror(errno));
    for (auto& [start, bytes] : memory_) write_spilled(fd_.get(), bytes.data(), bytes.size(), start);
    memory_.clear();
    memory_bytes_ = 0;
}

void Staging::write(std::uint64_t offset, std::span<const std::byte> data) {
    if (data.empty()) return;
    const std::uint64_t end = offset + data.size();
    if (end < offset) throw Error(EFBIG, "write past the largest offset");

    if (!fd_ && memory_bytes_ + data.size() > kMemoryLimit) spill();
    if (fd_) write_spilled(fd_.get(), data.data(), data.size(), offset);

    // Merge [offset, end) with every range it overlaps or touches.
    std::uint64_t start = offset, stop = end;
    auto it = ranges_.upper_bound(offset);
    if (it != ranges_.begin() && std::prev(it)->second >= offset) --it;
    std::vector<std::byte> merged;
    if (!fd_) {
        // Rebuild one contiguous buffer for the merged range, new bytes over old.
        std::uint64_t first = it != ranges_.end() && it->first <= end ? std::min(it->first, offset) : offset;
        std::uint64_t last = end;
        for (auto j = it; j != ranges_.end() && j->first <= end; ++j) last = std::max(last, j->second);
        merged.resize(last - first);
        for (auto j = it; j != ranges_.end() && j->first <= end; ++j) {
            const auto& old = memory_.at(j->first);
            std::memcpy(merged.data() + (j->first - first), old.data(), old.size());
        }
        std::memcpy(merged.data() + (offset - first), data.data(), data.size());
    }
    while (it != ranges_.end() && it->first <= end) {
        start = std::min(start, it->first);
        stop = std::max(stop, it->second);
        if (!fd_) {
            memory_bytes_ -= memory_.at(it->first).size();
            memory_.erase(it->first);
        }
        it = ranges_.erase(it);
    }
    ranges_[start] = stop;
    if (!fd_) {
        memory_bytes_ += merged.size();
        memory_[start] = std::move(merged);
    }
    size_ = std::max(size_, end);
    dirty_ = true;
}

void Staging::truncate(std::uint64_t size) {
    if (size == 0 && !replaces_) replaces_ = true;  // ftruncate(fd, 0) then writes: a replacement
    // Drop staged bytes at or beyond the new end.
    for (auto it = ranges_.lower_bound(size); it != ranges_.end();) {
        if (!fd_) {
            memory_bytes_ -= memory_.at(it->first).size();
            memory_.erase(it->first);
        }
        it = ranges_.erase(it);
    }
    if (!ranges_.empty()) {
        auto last = std::prev(ranges_.end());
        if (last->second > size) {
            last->second = size;
            if (!fd_) {
                auto& bytes = memory_.at(last->first);
                memory_bytes_ -= bytes.size() - (size - last->first);
                bytes.resize(size - last->first);
            }
        }
    }
    if (fd_ && ::ftruncate(fd_.get(), static_cast<off_t>(size)) != 0)
        throw Error(errno, std::string("staging file: ") + std::strerror(errno));
    if (size != size_ || replaces_) dirty_ = true;
    size_ = size;
    size_was_set_ = true;
}

void Staging::replace_from_start() {
    size_ = 0;
    size_was_set_ = replaces_ = true;
    dirty_ = base_size_ != 0;
}

void Staging::read(std::uint64_t offset, std::span<std::byte> out) const {
    if (out.empty()) return;
    if (fd_) {
        read_spilled(fd_.get(), out.data(), out.size(), offset);
        return;
    }
    auto it = memory_.upper_bound(offset);
    if (it == memory_.begin()) throw Error(EIO, "staging: no bytes at this offset");
    --it;
    if (offset + out.size() > it->first + it->second.size()) throw Error(EIO, "staging: range not staged");
    std::memcpy(out.data(), it->second.data() + (offset - it->first), out.size());
}

void Staging::overlay(std::uint64_t offset, std::span<std::byte> out) const {
    const std::uint64_t end = offset + out.size();
    auto it = ranges_.upper_bound(offset);
    if (it != ranges_.begin()) --it;
    for (; it != ranges_.end() && it->first < end; ++it) {
        std::uint64_t from = std::max(offset, it->first), to = std::min(end, it->second);
        if (from >= to) continue;
        read(from, out.subspan(from - offset, to - from));
    }
}

std::uint64_t Staging::written_bytes() const {
    std::uint64_t total = 0;
    for (const auto& [start, end] : ranges_) total += end - start;
    return total;
}

void Staging::clear() {
    ranges_.clear();
    memory_.clear();
    memory_bytes_ = 0;
    fd_.reset();
    replaces_ = false;
    dirty_ = false;
    failed_ = 0;
    size_was_set_ = false;
    base_size_ = size_;
}

}  // namespace h5swmrfs::fs
