// The h5pyswmr backend's shared state (Core), split over h5pyswmr_backend.cpp (h5pySWMR's
// read and write sequences, the generation, the Backend interface) and h5pyswmr_keeper.cpp
// (the thread that keeps held keys alive and watches for waiting writers); nothing else
// includes it. docs/LOCKING.md, "h5pySWMR backend", is the protocol.
//
// Threads: callers of acquire/release; the keeper. mutex_ guards everything below it and is
// never held during a redis call or a wait (stamp_file may sleep).
#pragma once

#include "lock/backend.h"
#include "lock/file_stamp.h"
#include "lock/h5pyswmr_protocol.h"

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

namespace h5swmrfs::lock::h5pyswmr {

using std::chrono::milliseconds;
using namespace std::chrono_literals;

// Held keys are kept alive this often: four times within their TTL.
constexpr Clock::duration keep_every = key_ttl / 4;
// A key kept alive by a request sent at t is certainly ours until t + TTL; it is trusted for
// 4/5 of that, the rest covering clock-rate differences (as the redis backend's leases).
constexpr Clock::duration trusted_for = key_ttl * 4 / 5;
// How often writecount is read while this process has a shared hold: a writer waiting
// elsewhere is noticed within this.
constexpr milliseconds watch_every{10};
// While writers keep waiting, the writer-waiting notice is repeated this often.
constexpr milliseconds notice_every{500};
// Longer than one tick of the coarse clock that file systems take change times from.
constexpr milliseconds settle{20};

// One grant: the simple lock it stands on (`w`) and what it counted itself in.
struct HoldState {
    Mode mode = Mode::Shared;
    std::string w_id;    // id_reader, or this writer's own id
    std::string epoch;   // the break epoch at the INCR
    std::uint64_t generation = 0;
    std::uint64_t fence = 0;
    std::uint64_t w_ticket = 0;  // its entries among the kept keys
    std::uint64_t r_ticket = 0;
    std::atomic<bool> lost{false};
    std::atomic<Clock::rep> valid_until{0};  // steady clock: `w` is certainly ours until then
};

// What the generation is derived from: this backend's counter and the file's metadata.
struct Observation {
    long long counter = 0;
    FileStamp file;
    bool same_state(const Observation& o) const { return counter == o.counter && file.same_file_state(o.file); }
};

class Core : public std::enable_shared_from_this<Core> {
public:
    Core(const Options& options, redis::Endpoint endpoint);
    ~Core();
    void start();
    void stop() noexcept;

    std::unique_ptr<BackendHold> acquire(Mode mode, Clock::time_point deadline);
    void release(const std::shared_ptr<HoldState>& hold) noexcept;
    void check_valid(HoldState& hold) const;
    void check_reachable();
    std::uint64_t current_generation();
    void on_writer_waiting(std::function<void()> handler) { writer_waiting_ = std::move(handler); }
    void on_lease_in_doubt(std::function<void()> handler) { lease_in_doubt_ = std::move(handler); }
    std::uint64_t next_drop_id() noexcept { return next_drop_id_++; }

    // Simple keys this process keeps alive while it holds them; `hold` is the grant a key
    // proves (null: kept as well as it can be, proving nothing).
    std::uint64_t keep(const std::string& key, const std::string& id, std::shared_ptr<HoldState> hold);
    void unkeep(std::uint64_t ticket);
    Steps& steps() noexcept { return steps_; }
    const Options& options() const noexcept { return options_; }

private:
    std::unique_ptr<BackendHold> acquire_shared(Clock::time_point deadline);
    std::unique_ptr<BackendHold> acquire_exclusive(Clock::time_point deadline);
    void release_shared(HoldState& hold) noexcept;
    void release_exclusive(HoldState& hold) noexcept;
    // DECR of readcount / writecount (the caller holds mutex1 / mutex2); the last one out
    // gives the group's key back.
    void leave_readers(const std::string& epoch);
    void leave_writers(const std::string& epoch);
    // The counter's value and the file's metadata; `wait`: see stamp_file.
    Observation observe(long long counter, milliseconds wait);
    // The hold's generation: a new one when the state differs from the last one seen here.
    void derive_generation(HoldState& hold, const Observation& seen);
    void keeper_loop();
    void keep_alive(const std::string& key, const std::string& id, const std::shared_ptr<HoldState>& hold);
    void watch_writers();
    void tell_lease_in_doubt() {
        if (lease_in_doubt_) lease_in_doubt_();
    }

    const Options options_;
    const Keys keys_;
    Steps steps_;
    std::function<void()> writer_waiting_;
    std::function<void()> lease_in_doubt_;
    std::atomic<std::uint64_t> next_drop_id_{1};

    std::mutex mutex_;
    std::condition_variable changed_;
    struct Kept {
        std::string key, id;
        std::shared_ptr<HoldState> hold;
        Clock::time_point next;
    };
    std::map<std::uint64_t, Kept> kept_;
    std::uint64_t next_ticket_ = 1;
    int shared_holds_ = 0;  // writecount is watched while this is above 0
    bool stopping_ = false;
    // The generation: the last state seen, whether it must count as changed next time, and
    // the number handed out for it.
    Observation last_;
    bool last_known_ = false;
    std::uint64_t generation_ = 0;
    // The keeper thread's own: whether it saw writers waiting, and when it last said so.
    bool writers_seen_ = false;
    Clock::time_point last_notice_;
    std::thread keeper_;
};

}  // namespace h5swmrfs::lock::h5pyswmr
