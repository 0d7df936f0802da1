#include "fs/kernel_cache.h"

#include <cerrno>
#include <cstring>

#include "fs/activity.h"
#include "fs/reply.h"
#include "util/log.h"

namespace h5swmrfs::fs {
namespace {

// The request this thread serves, as far as the cache is concerned.
struct Member {
    KernelCache* cache = nullptr;
    int parity = -1;         // the epoch parity it joined, -1: not joined
    bool exclusive = false;  // it changes the file
};
thread_local Member member;

// The cache's key of a name: the directory's inode number, then the name.
std::string entry_key(fuse_ino_t parent, std::string_view name) {
    std::string key(sizeof parent, '\0');
    std::memcpy(key.data(), &parent, sizeof parent);
    key.append(name);
    return key;
}

class SessionNotices : public KernelNotices {
public:
    explicit SessionNotices(fuse_session* session) : session_(session) {}
    void forget_inode(fuse_ino_t ino, bool pages) override {
        check(fuse_lowlevel_notify_inval_inode(session_, ino, pages ? 0 : -1, 0), "inode");
    }
    void forget_entry(fuse_ino_t parent, std::string_view name) override {
        // Expired, not dropped: the name is looked up again at its next use, and a
        // directory that is some process's working directory stays that (a dropped one
        // reads "(deleted)"). Kernels before 6.2 only know how to drop.
        int result = fuse_lowlevel_notify_expire_entry(session_, parent, name.data(), name.size(), FUSE_LL_EXPIRE_ONLY);
        if (result == -ENOSYS) result = fuse_lowlevel_notify_inval_entry(session_, parent, name.data(), name.size());
        check(result, "name");
    }

private:
    // ENOENT: the kernel had already forgotten it. Anything else means the kernel may
    // still serve it: logged, since only the cache's safety-net timeout ends it then.
    static void check(int result, const char* what) {
        if (result == 0 || result == -ENOENT) return;
        log::error("cannot make the kernel forget a cached ", what, ": ", std::strerror(-result));
    }
    fuse_session* session_;
};

}  // namespace

std::unique_ptr<KernelNotices> session_notices(fuse_session* session) {
    return std::make_unique<SessionNotices>(session);
}

void KernelCache::start(std::unique_ptr<KernelNotices> notices, std::function<void(std::uint64_t)> done,
                        std::string fault_point) {
    notices_ = std::move(notices);
    done_ = std::move(done);
    fault_point_ = std::move(fault_point);
    if (!enabled_) return;
    running_ = 2;
    auto ended = [this] {
        std::lock_guard guard(mutex_);
        --running_;
        changed_.notify_all();
    };
    thread_ = std::thread([this, ended] {
        run();
        ended();
    });
    names_thread_ = std::thread([this, ended] {
        expire_names();
        ended();
    });
}

void KernelCache::stop(const std::function<void()>& unstick) {
    bool stuck;
    {
        std::unique_lock guard(mutex_);
        stopping_ = true;
        changed_.notify_all();
        stuck = !changed_.wait_for(guard, std::chrono::seconds(2), [&] { return running_ == 0; });
    }
    if (stuck && unstick) unstick();
    if (thread_.joinable()) thread_.join();
    if (names_thread_.joinable()) names_thread_.join();
}

void KernelCache::join_shared() {
    if (!enabled_ || member.parity >= 0) return;
    std::lock_guard guard(mutex_);
    member.cache = this;
    member.parity = static_cast<int>(epoch_ & 1);
    ++active_[member.parity];
}

void KernelCache::join_exclusive() { member.exclusive = true; }

void KernelCache::request_ended() {
    KernelCache* cache = member.cache;
    const int parity = member.parity;
    member = Member{};
    if (!cache || parity < 0) return;
    bool last;
    {
        std::lock_guard guard(cache->mutex_);
        // Only a pass waiting for this epoch wants to hear: every request ends here, and
        // a wake-up is a context switch.
        last = --cache->active_[parity] == 0 && cache->draining_ == parity;
    }
    if (last) cache->changed_.notify_all();
}

bool KernelCache::cacheable() const { return member.cache == this && member.parity >= 0 && !member.exclusive; }

KernelCache::Fills& KernelCache::current() { return fills_[member.parity]; }

void KernelCache::entry(fuse_entry_param& entry, fuse_ino_t parent, std::string_view name) {
    entry.entry_timeout = entry.attr_timeout = 0;
    if (!cacheable() || entry.ino == 0) return;
    entry.entry_timeout = entry.attr_timeout = kTimeout;
    std::lock_guard guard(mutex_);
    Fills& fills = current();
    fills.entries.insert(entry_key(parent, name));
    fills.inodes.emplace(entry.ino, false);
}

double KernelCache::attributes(fuse_ino_t ino) {
    if (!cacheable()) return 0;
    std::lock_guard guard(mutex_);
    current().inodes.emplace(ino, false);
    return ino == FUSE_ROOT_ID ? kRootTimeout : kTimeout;
}

void KernelCache::pages(fuse_ino_t ino, std::uint64_t generation) {
    if (!cacheable()) return;
    std::lock_guard guard(mutex_);
    current().inodes[ino] = true;
    auto [it, added] = page_generation_.emplace(ino, generation);
    if (!added && it->second != generation) it->second = kMixed;
}

void KernelCache::tainted(fuse_ino_t ino) {
    if (!enabled_ || member.parity < 0) return;
    {
        std::lock_guard guard(mutex_);
        current().inodes[ino] = true;
        page_generation_[ino] = kMixed;
        drops_.push_back({0, std::chrono::steady_clock::now()});
    }
    changed_.notify_all();
}

bool KernelCache::keep_pages(fuse_ino_t ino, std::uint64_t generation) {
    if (!cacheable()) return false;
    std::lock_guard guard(mutex_);
    auto it = page_generation_.find(ino);
    return it != page_generation_.end() && it->second == generation && generation != kMixed;
}

bool KernelCache::opened(fuse_ino_t ino, std::uint64_t generation) {
    if (!cacheable()) return false;
    const bool keep = keep_pages(ino, generation);
    bool pending;
    {
        std::lock_guard guard(mutex_);
        pending = passing_ || !drops_.empty();
    }
    // Attributes only: no page lock is waited for, so this thread may do it itself.
    if (!keep || pending) notices_->forget_inode(ino, false);
    return keep;
}

void KernelCache::drop(std::uint64_t id) {
    if (!enabled_) {
        if (done_) done_(id);
        return;
    }
    {
        std::lock_guard guard(mutex_);
        drops_.push_back({id, std::chrono::steady_clock::now()});
    }
    changed_.notify_all();
}

void KernelCache::run() {
    std::unique_lock lock(mutex_);
    for (;;) {
        changed_.wait(lock, [&] { return stopping_ || !drops_.empty(); });
        if (stopping_) return;  // the unmount empties the kernel's caches
        std::deque<Pending> batch;
        batch.swap(drops_);
        passing_ = true;
        // Requests that joined before now may still be sending what they read under the
        // hold given up: wait for their answers, then nothing of that hold can come later.
        const int old = static_cast<int>(epoch_ & 1);
        ++epoch_;
        draining_ = old;
        changed_.wait(lock, [&] { return stopping_ || active_[old] == 0; });
        draining_ = -1;
        if (stopping_) return;
        Fills fills = std::move(fills_[old]);
        fills_[old] = Fills{};
        // No open keeps these pages while they are being forgotten.
        for (const auto& [ino, pages] : fills.inodes)
            if (pages) page_generation_[ino] = kMixed;
        lock.unlock();
        try {
            reply::fault_point(fault_point_.c_str());  // tests: a slow drop
        } catch (const std::exception&) {
        }
        forget_inodes(fills);
        lock.lock();
        passing_ = false;  // what the hold given up filled is forgotten (reports follow)
        // Pages read since (or staged bytes read, waiting for the next pass) stay unknown.
        const Fills& since = fills_[epoch_ & 1];
        for (const auto& [ino, pages] : fills.inodes) {
            auto it = page_generation_.find(ino);
            if (!pages || it == page_generation_.end() || it->second != kMixed) continue;
            if (auto later = since.inodes.find(ino); later != since.inodes.end() && later->second) continue;
            page_generation_.erase(it);
        }
        lock.unlock();
        bool reported = false;
        for (const Pending& drop : batch) {
            if (drop.id == 0) continue;
            done_(drop.id);
            if (!reported)  // the oldest drop of the pass: how long writers waited at most
                activity::cache_dropped(fills.inodes.size(), fills.entries.size(),
                                        std::chrono::steady_clock::now() - drop.since);
            reported = true;
        }
        lock.lock();
        if (!fills.entries.empty()) {
            names_.insert(names_.end(), fills.entries.begin(), fills.entries.end());
            changed_.notify_all();
        }
    }
}

void KernelCache::forget_inodes(const Fills& fills) {
    for (const auto& [ino, pages] : fills.inodes) notices_->forget_inode(ino, pages);
}

// Names are expired after the drop is reported, on a thread of their own: expiring one
// takes its directory's lock, which a request of this mount may hold while it waits for
// a drop elsewhere (mkdir on two mounts at once) — a drop that waited for names could
// wait for ever. Until a name is expired, the kernel may still take it to its inode, whose
// attributes are forgotten: asked again, the daemon answers ESTALE for an object no longer
// at that name, and the kernel looks the name up again.
void KernelCache::expire_names() {
    std::unique_lock lock(mutex_);
    for (;;) {
        changed_.wait(lock, [&] { return stopping_ || !names_.empty(); });
        if (stopping_) return;
        std::deque<std::string> batch;
        batch.swap(names_);
        lock.unlock();
        for (const std::string& key : batch) {
            fuse_ino_t parent;
            std::memcpy(&parent, key.data(), sizeof parent);
            notices_->forget_entry(parent, std::string_view(key).substr(sizeof parent));
        }
        lock.lock();
    }
}

}  // namespace h5swmrfs::fs
