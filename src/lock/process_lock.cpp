// The process layer over any backend: the threads of one process share one backend shared
// hold (counted here), keep it idle for the next operation while nobody wants to write,
// and go to the backend for exclusive holds one at a time.
//
// Rules:
//  - Writer preference here too: once a thread of this process waits for exclusive, or a
//    writer waits anywhere (the backend's writer-waiting notice), no new operation joins the
//    current shared hold; it is released as soon as the operations in it finish, and new
//    readers ask the backend again (and so queue behind the writer).
//  - mutex_ is never held during a backend call (those wait on other processes).
//  - A caching process (on_shared_released) gives its shared holds up on the keeper thread
//    only, as drops, and calls the drop handler there: never on an operation's thread,
//    which may hold what emptying the kernel's caches waits for. Its kept hold is also
//    given up when the backend says its lease is in doubt.
#include "lock/backend.h"
#include "lock/counts.h"
#include "lock/lock.h"
#include "util/error.h"
#include "util/log.h"

#include <atomic>
#include <condition_variable>
#include <mutex>
#include <thread>

namespace h5swmrfs::lock {
namespace {

// The backend shared hold the process's readers share.
struct SharedSlot {
    std::unique_ptr<BackendHold> hold;
    int users = 0;
    std::atomic<bool> draining{false};  // a writer waits: take no new users, release when idle
                                        // (changed under mutex_, read by SharedHold::wanted)
    Clock::time_point idle_since;
};

class ProcessLock;

class SharedHold : public Hold {
public:
    SharedHold(ProcessLock& owner, std::shared_ptr<SharedSlot> slot) : owner_(owner), slot_(std::move(slot)) {}
    ~SharedHold() override;
    Mode mode() const noexcept override { return Mode::Shared; }
    std::uint64_t generation() const noexcept override { return slot_->hold->generation(); }
    std::uint64_t fence() const noexcept override { return slot_->hold->fence(); }
    void check_valid() const override { slot_->hold->check_valid(); }
    bool wanted() const noexcept override { return slot_->draining.load(); }

private:
    ProcessLock& owner_;
    std::shared_ptr<SharedSlot> slot_;
};

class ExclusiveHold : public Hold {
public:
    ExclusiveHold(ProcessLock& owner, std::unique_ptr<BackendHold> hold) : owner_(owner), hold_(std::move(hold)) {}
    ~ExclusiveHold() override;
    Mode mode() const noexcept override { return Mode::Exclusive; }
    std::uint64_t generation() const noexcept override { return hold_->generation(); }
    std::uint64_t fence() const noexcept override { return hold_->fence(); }
    void check_valid() const override { hold_->check_valid(); }

private:
    ProcessLock& owner_;
    std::unique_ptr<BackendHold> hold_;
};

class ProcessLock : public Lock {
public:
    ProcessLock(const Options& options, std::unique_ptr<Backend> backend)
        : options_(options), backend_(std::move(backend)) {
        backend_->on_writer_waiting([this] { writer_waits_elsewhere(); });
        backend_->on_lease_in_doubt([this] { lease_in_doubt(); });
        keeper_ = std::thread([this] { keeper_loop(); });
    }

    ~ProcessLock() override {
        std::unique_ptr<BackendHold> idle;
        {
            std::lock_guard lock(mutex_);
            stopping_ = true;
            if (slot_ && slot_->users > 0) log::error("lock '", options_.key, "': destroyed while holds are in use");
            if (slot_ && slot_->users == 0) idle = take_slot();
        }
        changed_.notify_all();
        keeper_.join();
        idle.reset();
        backend_.reset();
    }

    std::unique_ptr<Hold> acquire(Mode mode) override {
        const Clock::time_point deadline = Clock::now() + options_.timeout;
        return mode == Mode::Shared ? acquire_shared(deadline) : acquire_exclusive(deadline);
    }

    void check_reachable() override { backend_->check_reachable(); }
    void on_writer_waiting(std::function<void()> handler) override { writer_waiting_handler_ = std::move(handler); }
    void on_lease_in_doubt(std::function<void()> handler) override { lease_handler_ = std::move(handler); }
    std::uint64_t current_generation() override { return backend_->current_generation(); }
    void on_shared_released(std::function<void(const Drop&)> handler) override { drop_handler_ = std::move(handler); }
    void dropped(std::uint64_t id) noexcept override { backend_->dropped(id); }
    void wait_for_drops(std::uint64_t generation, bool others_only) noexcept override;

    void release_shared(const std::shared_ptr<SharedSlot>& slot) noexcept;
    void release_exclusive(std::unique_ptr<BackendHold> hold) noexcept;

private:
    std::unique_ptr<Hold> acquire_shared(Clock::time_point deadline);
    std::unique_ptr<Hold> acquire_exclusive(Clock::time_point deadline);
    void writer_waits_elsewhere();
    void lease_in_doubt();
    void keeper_loop();
    bool caching() const { return static_cast<bool>(drop_handler_); }

    // Detaches the idle slot's backend hold; the caller releases it after unlocking mutex_.
    std::unique_ptr<BackendHold> take_slot() {
        std::unique_ptr<BackendHold> hold = std::move(slot_->hold);
        slot_.reset();
        return hold;
    }
    // Lets the idle slot's hold go, outside mutex_ (giving it back may talk to the lock
    // server), and tells the waiters; `lock` is held again after. In a caching process only
    // the keeper calls it.
    void let_idle_slot_go(std::unique_lock<std::mutex>& lock) {
        auto idle = take_slot();
        lock.unlock();
        give_up(std::move(idle));
        lock.lock();
        changed_.notify_all();
    }
    // Releases a backend shared hold; in a caching process as a drop, then tells the handler.
    void give_up(std::unique_ptr<BackendHold> hold) noexcept {
        if (!caching()) {
            hold.reset();
            return;
        }
        const Drop drop = hold->release_as_drop();
        hold.reset();
        try {
            drop_handler_(drop);
        } catch (const std::exception& e) {
            log::error("lock '", options_.key, "': the handler of a dropped shared hold failed: ", e.what());
        } catch (...) {
            log::error("lock '", options_.key, "': the handler of a dropped shared hold failed");
        }
    }
    // An idle slot that should go: let it go here, or (caching) have the keeper do it; the
    // caller then waits for changed_. True when it was let go here.
    bool let_idle_slot_go_or_wake_keeper(std::unique_lock<std::mutex>& lock) {
        if (caching()) {
            changed_.notify_all();
            return false;
        }
        let_idle_slot_go(lock);
        return true;
    }
    // When the idle slot has been kept for keep_idle, which may be "for ever" (a caching
    // mount keeps its hold until someone needs it) and must not overflow the clock.
    Clock::time_point idle_expiry(const SharedSlot& slot) const {
        if (options_.keep_idle >= Options::keep_forever) return Clock::time_point::max();
        return slot.idle_since + options_.keep_idle;
    }
    bool slot_should_go() const {
        return slot_->draining || writers_ > 0 || options_.keep_idle.count() == 0 || !slot_->hold->valid();
    }
    void wait_or_timeout(std::unique_lock<std::mutex>& lock, Clock::time_point deadline, const char* what) {
        ++waiting_;
        const std::cv_status status = changed_.wait_until(lock, deadline);
        --waiting_;
        if (status == std::cv_status::timeout && Clock::now() >= deadline)
            throw Error(EBUSY, "lock '" + options_.key + "': timed out waiting for " + what + " in this process (" +
                                   state() + ")");
    }
    // What a wait in this process waits for, for its timeout's log line; under mutex_.
    std::string state() const {
        std::string text = std::to_string(writers_) + " writer(s) here" + (writer_active_ ? ", one at the lock" : "");
        if (slot_)
            text += std::string(", the shared hold kept: ") + std::to_string(slot_->users) + " user(s)" +
                    (slot_->draining ? ", draining" : "") + (slot_->hold && !slot_->hold->valid() ? ", lease in doubt" : "");
        if (slot_pending_) text += ", a shared hold being asked of the lock";
        return text;
    }

    const Options options_;
    std::unique_ptr<Backend> backend_;

    std::mutex mutex_;
    std::condition_variable changed_;
    std::shared_ptr<SharedSlot> slot_;
    int waiting_ = 0;            // threads of acquire waiting for changed_ (the keeper aside)
    bool slot_pending_ = false;  // a thread is asking the backend for the shared hold
    bool drain_pending_ = false; // a writer waited while it asked: the slot it gets drains at once
    int writers_ = 0;            // threads waiting for or holding exclusive
    bool writer_active_ = false; // one of them is at the backend or holds it
    bool stopping_ = false;
    std::thread keeper_;
    std::function<void()> writer_waiting_handler_;  // set before the first acquire, then only read
    std::function<void(const Drop&)> drop_handler_;  // likewise; set: a caching process
    std::function<void()> lease_handler_;            // likewise

    // A writer waits, or the kept hold's lease is in doubt: no new users, release when idle.
    void drain_kept_hold();

    // Marks the shared slot as draining; true when that is news its users should hear.
    bool start_draining() {
        if (!slot_ || slot_->draining) return false;
        slot_->draining = true;
        return slot_->users > 0;
    }
    void tell_users_a_writer_waits() {
        if (writer_waiting_handler_) writer_waiting_handler_();
    }
};

SharedHold::~SharedHold() { owner_.release_shared(slot_); }
ExclusiveHold::~ExclusiveHold() { owner_.release_exclusive(std::move(hold_)); }

std::unique_ptr<Hold> ProcessLock::acquire_shared(Clock::time_point deadline) {
    std::unique_lock lock(mutex_);
    for (;;) {
        if (writers_ == 0 && !writer_active_) {
            if (slot_ && !slot_->draining && slot_->hold->valid()) {
                ++slot_->users;
                return std::make_unique<SharedHold>(*this, slot_);
            }
            if (!slot_ && !slot_pending_) break;
        }
        if (slot_ && slot_->users == 0 && slot_should_go() && let_idle_slot_go_or_wake_keeper(lock)) continue;
        if (slot_ && slot_->users > 0 && !slot_->draining && !slot_->hold->valid()) slot_->draining = true;
        wait_or_timeout(lock, deadline, "a shared hold");
    }
    slot_pending_ = true;
    lock.unlock();
    std::unique_ptr<BackendHold> hold;
    try {
        hold = backend_->acquire(Mode::Shared, deadline);
    } catch (...) {
        lock.lock();
        slot_pending_ = false;
        drain_pending_ = false;
        changed_.notify_all();
        throw;
    }
    counts::granted(Mode::Shared);
    lock.lock();
    slot_pending_ = false;
    slot_ = std::make_shared<SharedSlot>();
    slot_->hold = std::move(hold);
    slot_->users = 1;
    slot_->draining = writers_ > 0 || drain_pending_;
    drain_pending_ = false;
    const bool news = slot_->draining;
    auto granted = std::make_unique<SharedHold>(*this, slot_);
    lock.unlock();
    changed_.notify_all();
    if (news) tell_users_a_writer_waits();  // a writer of this process came while we asked
    return granted;
}

void ProcessLock::release_shared(const std::shared_ptr<SharedSlot>& slot) noexcept {
    std::unique_ptr<BackendHold> release;
    bool wake;
    {
        std::lock_guard lock(mutex_);
        if (--slot->users > 0) return;
        slot->idle_since = Clock::now();
        // A caching process's keeper gives it up (woken below).
        if (slot_ == slot && slot_should_go() && !caching()) release = take_slot();
        // Waking nobody is worth it: one operation after another each ends here, and a
        // wake-up is a context switch. The keeper needs one only to time an idle slot.
        const bool keeper_has_work =
            slot_ == slot && (slot_should_go() || idle_expiry(*slot) != Clock::time_point::max());
        wake = waiting_ > 0 || keeper_has_work || release;
    }
    release.reset();
    if (wake) changed_.notify_all();  // waiting writers, and the keeper's idle timer
}

void ProcessLock::release_exclusive(std::unique_ptr<BackendHold> hold) noexcept {
    hold.reset();
    {
        std::lock_guard lock(mutex_);
        writer_active_ = false;
        --writers_;
    }
    changed_.notify_all();
}

std::unique_ptr<Hold> ProcessLock::acquire_exclusive(Clock::time_point deadline) {
    std::unique_lock lock(mutex_);
    ++writers_;
    if (start_draining()) {
        lock.unlock();
        tell_users_a_writer_waits();
        lock.lock();
    }
    try {
        for (;;) {
            if (!writer_active_ && !slot_ && !slot_pending_) break;
            if (slot_) {
                slot_->draining = true;
                if (slot_->users == 0 && let_idle_slot_go_or_wake_keeper(lock)) continue;
            }
            wait_or_timeout(lock, deadline, "this process's other holds");
        }
    } catch (...) {
        --writers_;
        changed_.notify_all();
        throw;
    }
    writer_active_ = true;
    lock.unlock();
    try {
        auto granted = std::make_unique<ExclusiveHold>(*this, backend_->acquire(Mode::Exclusive, deadline));
        counts::granted(Mode::Exclusive);
        return granted;
    } catch (...) {
        lock.lock();
        writer_active_ = false;
        --writers_;
        changed_.notify_all();
        throw;
    }
}

// Runs on a backend thread: must not block on the backend. The keeper does the release.
void ProcessLock::writer_waits_elsewhere() {
    drain_kept_hold();
    counts::writer_noticed();  // after: whoever sees the count sees the hold draining
}

// Runs on a backend thread. A caching process must not keep serving from its caches on a
// hold it may no longer have: it gives the hold up (and so drops) as for a writer. Others
// keep using it until check_valid says otherwise.
void ProcessLock::lease_in_doubt() {
    if (!caching()) return;
    drain_kept_hold();
    if (lease_handler_) lease_handler_();
}

void ProcessLock::drain_kept_hold() {
    bool news;
    {
        std::lock_guard lock(mutex_);
        if (!slot_ && slot_pending_) drain_pending_ = true;  // the notice must not be lost
        if (!slot_ || slot_->draining) return;
        news = start_draining();
    }
    changed_.notify_all();
    if (news) tell_users_a_writer_waits();
}

void ProcessLock::wait_for_drops(std::uint64_t generation, bool others_only) noexcept {
    if (!backend_->wait_for_drops(generation, others_only, Clock::now() + options_.timeout))
        log::warning("lock '", options_.key, "': drops of generations before ", generation,
                     " still pending after the lock timeout (", options_.timeout.count(),
                     " ms): a caching process may still serve what was there before; going on");
}

// Releases the kept shared hold when a writer waits or it has been idle for keep_idle.
void ProcessLock::keeper_loop() {
    std::unique_lock lock(mutex_);
    while (!stopping_) {
        if (slot_ && slot_->users == 0) {
            const Clock::time_point expires = idle_expiry(*slot_);
            if (slot_should_go() || Clock::now() >= expires) {
                let_idle_slot_go(lock);
                continue;
            }
            // Far-off expiries are looked at again now and then: waits until the clock's
            // last instant are not reliable.
            changed_.wait_until(lock, std::min(expires, Clock::now() + std::chrono::hours(1)));
        } else {
            changed_.wait(lock);
        }
    }
}

}  // namespace

std::unique_ptr<Lock> make_process_lock(const Options& options, std::unique_ptr<Backend> backend) {
    return std::make_unique<ProcessLock>(options, std::move(backend));
}

}  // namespace h5swmrfs::lock
