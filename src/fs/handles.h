// The handles the kernel holds (fi->fh of open files and directories), owned here.
//
// The kernel sends release/releasedir after close(2) without waiting for the
// answer, so a mount that ends (SIGTERM, fusermount3 -u -z) may still hold some:
// whatever is left when the session ends is freed by clear(), not leaked.
#pragma once

#include <cstdint>
#include <memory>
#include <mutex>
#include <unordered_map>

namespace h5swmrfs::fs {

class Handles {
public:
    // Keeps `handle`; the number to give the kernel as fi->fh.
    template <class T>
    std::uint64_t keep(std::unique_ptr<T> handle) {
        T* raw = handle.get();
        std::lock_guard guard(mutex_);
        kept_.emplace(raw, std::shared_ptr<void>(std::move(handle)));
        return reinterpret_cast<std::uint64_t>(raw);
    }

    // The handle behind fi->fh; valid until drop(fh).
    template <class T>
    static T* get(std::uint64_t fh) {
        return reinterpret_cast<T*>(fh);
    }

    // Frees the handle behind `fh` (when the returned owner goes).
    std::shared_ptr<void> drop(std::uint64_t fh) {
        std::lock_guard guard(mutex_);
        auto it = kept_.find(reinterpret_cast<void*>(fh));
        if (it == kept_.end()) return nullptr;
        std::shared_ptr<void> owner = std::move(it->second);
        kept_.erase(it);
        return owner;
    }

    // Frees every handle still kept; how many there were.
    std::size_t clear() {
        std::unordered_map<void*, std::shared_ptr<void>> left;
        {
            std::lock_guard guard(mutex_);
            left.swap(kept_);
        }
        return left.size();
    }

private:
    std::mutex mutex_;
    std::unordered_map<void*, std::shared_ptr<void>> kept_;
};

}  // namespace h5swmrfs::fs
