// The h5pyswmr backend: h5pySWMR's keys and steps, so that its Python programs and the
// mounts of a file exclude each other. A mount's read is an h5pySWMR read, a mount's change an
// h5pySWMR write; what this backend adds (keys kept alive while held, a generation that also
// sees writes of programs that leave no trace, the break epoch) never changes what the others
// see of the protocol. h5pyswmr_core.h has the threads; docs/LOCKING.md the protocol.
#include "lock/counts.h"
#include "lock/h5pyswmr_core.h"
#include "util/error.h"
#include "util/log.h"

#include <algorithm>
#include <tuple>

namespace h5swmrfs::lock {
namespace h5pyswmr {
namespace {

class H5pyHold : public BackendHold {
public:
    H5pyHold(std::shared_ptr<Core> core, std::shared_ptr<HoldState> state) : core_(std::move(core)), state_(std::move(state)) {}
    ~H5pyHold() override {
        if (!released_) core_->release(state_);
    }
    Mode mode() const noexcept override { return state_->mode; }
    std::uint64_t generation() const noexcept override { return state_->generation; }
    std::uint64_t fence() const noexcept override { return state_->fence; }
    void check_valid() const override { core_->check_valid(*state_); }
    // Nothing is recorded: h5pySWMR writers would not wait for it (mounts with --cache are refused).
    Drop release_as_drop() noexcept override {
        released_ = true;
        core_->release(state_);
        return Drop{core_->next_drop_id(), state_->generation};
    }

private:
    std::shared_ptr<Core> core_;
    std::shared_ptr<HoldState> state_;
    bool released_ = false;
};

// A simple lock this thread took for a few steps; given back when it goes out of scope.
class Taken {
public:
    Taken(Core& core, const std::string& key, Clock::time_point deadline) : core_(core), key_(key), id_(own_id()) {
        core_.steps().take(key_, id_, deadline);
        ticket_ = core_.keep(key_, id_, nullptr);  // a wait behind it may outlast the TTL
    }
    ~Taken() { give_back(); }
    Taken(const Taken&) = delete;
    Taken& operator=(const Taken&) = delete;
    void give_back() noexcept {
        if (!ticket_) return;
        core_.unkeep(ticket_);
        ticket_ = 0;
        try {
            if (!core_.steps().give(key_, id_))
                log::warning("lock '", core_.options().key, "': ", key_, " was no longer ours when given back");
        } catch (const std::exception& e) {
            log::warning("lock '", core_.options().key, "': giving ", key_, " back failed (it expires by itself): ", e.what());
        }
    }

private:
    Core& core_;
    const std::string key_;
    const std::string id_;
    std::uint64_t ticket_ = 0;
};

void log_uncounted(const std::string& key, const std::string& counter, const std::exception& e) {
    log::error("lock '", key, "': redis failed around INCR/DECR of ", counter, " (", e.what(),
               "); if the count was changed it stays wrong until `h5swmrfs-ctl --lock h5pyswmr break`");
}

}  // namespace

Core::Core(const Options& options, redis::Endpoint endpoint)
    : options_(options), keys_(options.key), steps_(std::move(endpoint), std::clamp<milliseconds>(options.timeout, 500ms, 5000ms)) {}

Core::~Core() { stop(); }

std::unique_ptr<BackendHold> Core::acquire(Mode mode, Clock::time_point deadline) {
    return mode == Mode::Shared ? acquire_shared(deadline) : acquire_exclusive(deadline);
}

// h5pySWMR's read, up to its read: mutex3, r, mutex1; INCR readcount; the first reader takes w
// for the readers; then mutex1, r, mutex3 go back.
std::unique_ptr<BackendHold> Core::acquire_shared(Clock::time_point deadline) {
    auto hold = std::make_shared<HoldState>();
    hold->mode = Mode::Shared;
    hold->w_id = reader_id;
    {
        Taken mutex3(*this, keys_.mutex3, deadline);
        Taken r(*this, keys_.r, deadline);  // a writer waiting or writing holds it: readers queue here
        Taken mutex1(*this, keys_.mutex1, deadline);
        try {
            hold->epoch = steps_.incr(keys_.readcount, keys_.breaks).second;
        } catch (const redis::RedisError& e) {
            log_uncounted(options_.key, keys_.readcount, e);
            throw;
        }
        try {
            // The first reader takes w; a later one joins it, and takes it too if the readers
            // have lost it (h5pySWMR would read without it).
            const Clock::time_point sent = steps_.take(keys_.w, reader_id, deadline, /*or_keep=*/true);
            hold->valid_until = (sent + trusted_for).time_since_epoch().count();
        } catch (...) {
            try {
                leave_readers(hold->epoch);
            } catch (const std::exception& e) {
                log_uncounted(options_.key, keys_.readcount, e);
            }
            throw;
        }
        hold->w_ticket = keep(keys_.w, reader_id, hold);
    }
    {
        std::lock_guard lock(mutex_);
        ++shared_holds_;
    }
    changed_.notify_all();  // the keeper starts watching writecount
    try {
        derive_generation(*hold, observe(steps_.counter(keys_.generation), settle));
    } catch (...) {
        release(hold);
        throw;
    }
    log::debug("lock '", options_.key, "': shared granted, generation ", hold->generation);
    return std::make_unique<H5pyHold>(shared_from_this(), hold);
}

// h5pySWMR's write, up to its write: mutex2; INCR writecount; the first writer takes r for the
// writers (new readers queue behind it); mutex2 goes back; then w, the writer's own.
std::unique_ptr<BackendHold> Core::acquire_exclusive(Clock::time_point deadline) {
    auto hold = std::make_shared<HoldState>();
    hold->mode = Mode::Exclusive;
    hold->w_id = own_id();
    {
        Taken mutex2(*this, keys_.mutex2, deadline);
        long long writers = 0;
        try {
            std::tie(writers, hold->epoch) = steps_.incr(keys_.writecount, keys_.breaks);
        } catch (const redis::RedisError& e) {
            log_uncounted(options_.key, keys_.writecount, e);
            throw;
        }
        try {
            if (writers == 1) steps_.take(keys_.r, writer_id, deadline, /*or_keep=*/true);
        } catch (...) {
            try {
                leave_writers(hold->epoch);
            } catch (const std::exception& e2) {
                log_uncounted(options_.key, keys_.writecount, e2);
            }
            throw;
        }
        // Every writer keeps r alive while it waits or writes: the first may leave before it.
        hold->r_ticket = keep(keys_.r, writer_id, nullptr);
    }
    try {
        const Clock::time_point sent = steps_.take(keys_.w, hold->w_id, deadline);
        hold->valid_until = (sent + trusted_for).time_since_epoch().count();
    } catch (...) {
        unkeep(hold->r_ticket);
        try {
            Taken mutex2(*this, keys_.mutex2, Clock::now() + options_.timeout);
            leave_writers(hold->epoch);
        } catch (const std::exception& e2) {
            log_uncounted(options_.key, keys_.writecount, e2);
        }
        throw;
    }
    hold->w_ticket = keep(keys_.w, hold->w_id, hold);
    try {
        // Every mount's change moves the counter, whether or not the file's metadata shows it.
        long long counter = 0;
        try {
            counter = steps_.incr(keys_.generation);
        } catch (const redis::RedisError& e) {
            if (e.failure() != redis::Failure::Unreachable) throw;
            counter = steps_.incr(keys_.generation);  // twice is as good as once: it only has to move
        }
        // Only compared with the last look: a later change is this hold's own.
        derive_generation(*hold, observe(counter, 0ms));
    } catch (...) {
        release(hold);
        throw;
    }
    log::debug("lock '", options_.key, "': exclusive granted, generation ", hold->generation);
    return std::make_unique<H5pyHold>(shared_from_this(), hold);
}

void Core::leave_readers(const std::string& epoch) {
    const std::optional<long long> left = steps_.decr(keys_.readcount, keys_.breaks, epoch);
    if (!left) {
        log::warning("lock '", options_.key, "': the lock was broken while this process read; readcount left as it is");
        return;
    }
    if (*left < 0) log::warning("lock '", options_.key, "': readcount went below 0 (", *left, ")");
    if (*left == 0 && !steps_.give(keys_.w, reader_id))
        log::warning("lock '", options_.key, "': the last reader found w no longer the readers'");
}

void Core::leave_writers(const std::string& epoch) {
    const std::optional<long long> left = steps_.decr(keys_.writecount, keys_.breaks, epoch);
    if (!left) {
        log::warning("lock '", options_.key, "': the lock was broken while this process wrote; writecount left as it is");
        return;
    }
    if (*left < 0) log::warning("lock '", options_.key, "': writecount went below 0 (", *left, ")");
    if (*left == 0 && !steps_.give(keys_.r, writer_id))
        log::warning("lock '", options_.key, "': the last writer found r no longer the writers'");
}

void Core::release(const std::shared_ptr<HoldState>& hold) noexcept {
    if (hold->mode == Mode::Shared) {
        release_shared(*hold);
        {
            std::lock_guard lock(mutex_);
            --shared_holds_;
        }
    } else {
        release_exclusive(*hold);
    }
}

// h5pySWMR's read, after its read: mutex1; DECR readcount; the last reader gives w back.
void Core::release_shared(HoldState& hold) noexcept {
    unkeep(hold.w_ticket);
    try {
        Taken mutex1(*this, keys_.mutex1, Clock::now() + options_.timeout);
        leave_readers(hold.epoch);
    } catch (const std::exception& e) {
        log_uncounted(options_.key, keys_.readcount, e);
    }
}

// h5pySWMR's write, after its write: w goes back; mutex2; DECR writecount; the last writer
// gives r back.
void Core::release_exclusive(HoldState& hold) noexcept {
    if (!hold.lost) {
        // What this change left, seen while no one else can change the file: the next
        // grant here tells a later change of anyone else from it.
        const Observation after = observe(static_cast<long long>(hold.fence), settle);
        std::lock_guard lock(mutex_);
        last_ = after;
        last_known_ = true;
    }
    unkeep(hold.w_ticket);
    try {
        if (!steps_.give(keys_.w, hold.w_id) && !hold.lost)
            log::warning("lock '", options_.key, "': exclusive hold had already expired when released");
    } catch (const std::exception& e) {
        log::warning("lock '", options_.key, "': release failed (w expires by itself): ", e.what());
    }
    unkeep(hold.r_ticket);
    try {
        Taken mutex2(*this, keys_.mutex2, Clock::now() + options_.timeout);
        leave_writers(hold.epoch);
    } catch (const std::exception& e) {
        log_uncounted(options_.key, keys_.writecount, e);
    }
}

Observation Core::observe(long long counter, milliseconds wait) {
    Observation seen;
    seen.counter = counter;
    seen.file = stamp_file(options_.data_file, wait);
    return seen;
}

void Core::derive_generation(HoldState& hold, const Observation& seen) {
    std::lock_guard lock(mutex_);
    Observation before = seen;
    if (hold.mode == Mode::Exclusive) before.counter -= 1;  // what it was before this grant's INCR
    if (!last_known_ || last_.file.racy || !before.same_state(last_)) ++generation_;  // changed meanwhile
    if (hold.mode == Mode::Exclusive) {
        ++generation_;  // this change
        last_known_ = false;  // until it is released
    } else {
        last_ = seen;
        last_known_ = true;
    }
    hold.generation = generation_;
    hold.fence = static_cast<std::uint64_t>(seen.counter);
}

void Core::check_valid(HoldState& hold) const {
    if (hold.lost) throw Error(EIO, "lock '" + options_.key + "': hold lost (" + keys_.w + " expired or was taken away)");
    if (Clock::now().time_since_epoch().count() >= hold.valid_until.load()) {
        if (!hold.lost.exchange(true)) {
            counts::lost(hold.mode);
            log::warning("lock '", options_.key, "': ", keys_.w, " could not be kept alive in time; hold given up");
        }
        throw Error(EIO, "lock '" + options_.key + "': " + keys_.w + " could not be kept alive in time");
    }
}

void Core::check_reachable() {
    steps_.pool().with([](redis::Connection& c) { return c.command({"PING"}); });
}

std::uint64_t Core::current_generation() {
    std::lock_guard lock(mutex_);
    return generation_;
}

}  // namespace h5pyswmr

namespace {

class H5pyswmrBackend : public Backend {
public:
    H5pyswmrBackend(const Options& options, redis::Endpoint endpoint)
        : core_(std::make_shared<h5pyswmr::Core>(options, std::move(endpoint))) {}
    ~H5pyswmrBackend() override { core_->stop(); }

    std::unique_ptr<BackendHold> acquire(Mode mode, Clock::time_point deadline) override {
        std::call_once(started_, [&] { core_->start(); });
        return core_->acquire(mode, deadline);
    }
    void check_reachable() override { core_->check_reachable(); }
    std::uint64_t current_generation() override { return core_->current_generation(); }
    void on_writer_waiting(std::function<void()> handler) override { core_->on_writer_waiting(std::move(handler)); }
    void on_lease_in_doubt(std::function<void()> handler) override { core_->on_lease_in_doubt(std::move(handler)); }
    // No drops are recorded (release_as_drop), so there is none to wait for.
    void dropped(std::uint64_t) noexcept override {}
    bool wait_for_drops(std::uint64_t, bool, Clock::time_point) noexcept override { return true; }

private:
    std::shared_ptr<h5pyswmr::Core> core_;
    std::once_flag started_;
};

}  // namespace

std::unique_ptr<Backend> make_h5pyswmr_backend(const Options& options) {
    redis::Endpoint endpoint = redis::parse_url(options.redis_url.empty() ? default_redis_url() : options.redis_url);
    if (!options.redis_password.empty()) endpoint.password = options.redis_password;
    return std::make_unique<H5pyswmrBackend>(options, std::move(endpoint));
}

}  // namespace h5swmrfs::lock
