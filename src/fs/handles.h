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

// What fi->fh stands for. Open files and open directories derive from it, and are told
// apart by its tag: the kernel sends some requests (getattr, setattr) with whichever
// handle it has.
class Handle {
public:
    enum class Kind { File, Directory };
    explicit Handle(Kind kind) : kind_(kind) {}
    virtual ~Handle() = default;
    Kind kind() const { return kind_; }

private:
    const Kind kind_;
};

class Handles {
public:
    // Keeps `handle`; the number to give the kernel as fi->fh.
    std::uint64_t keep(std::unique_ptr<Handle> handle) {
        Handle* raw = handle.get();
        std::lock_guard guard(mutex_);
        kept_.emplace(raw, std::move(handle));
        return reinterpret_cast<std::uint64_t>(raw);
    }

    // The handle of type T (an open file, an open directory) behind fi->fh, or null
    // when `fh` is none or of the other kind; valid until drop(fh).
    template <class T>
    static T* get(std::uint64_t fh) {
        auto* handle = reinterpret_cast<Handle*>(fh);
        return handle && handle->kind() == T::kKind ? static_cast<T*>(handle) : nullptr;
    }

    // Frees the handle behind `fh` (when the returned owner goes).
    std::unique_ptr<Handle> drop(std::uint64_t fh) {
        std::lock_guard guard(mutex_);
        auto it = kept_.find(reinterpret_cast<Handle*>(fh));
        if (it == kept_.end()) return nullptr;
        std::unique_ptr<Handle> owner = std::move(it->second);
        kept_.erase(it);
        return owner;
    }

    // How many kept handles of type T satisfy `match`, called under the table's mutex.
    template <class T, class Match>
    std::size_t count(Match&& match) {
        std::lock_guard guard(mutex_);
        std::size_t n = 0;
        for (const auto& [raw, handle] : kept_)
            if (raw->kind() == T::kKind && match(static_cast<const T&>(*raw))) ++n;
        return n;
    }

    // Frees every handle still kept; how many there were.
    std::size_t clear() {
        std::unordered_map<Handle*, std::unique_ptr<Handle>> left;
        {
            std::lock_guard guard(mutex_);
            left.swap(kept_);
        }
        return left.size();
    }

private:
    std::mutex mutex_;
    std::unordered_map<Handle*, std::unique_ptr<Handle>> kept_;
};

}  // namespace h5swmrfs::fs
