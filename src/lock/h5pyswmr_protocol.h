// h5pySWMR's lock as it is kept in redis (docs/LOCKING.md, "h5pySWMR backend"): its key
// names and its single steps. The h5pyswmr backend (h5pyswmr_backend.cpp) composes them into
// h5pySWMR's read and write sequences; h5swmrfs-ctl (h5pyswmr_admin.cpp) reads and clears them.
#pragma once

#include "lock/lock.h"
#include "lock/redis_connection.h"

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace h5swmrfs::lock::h5pyswmr {

using Clock = std::chrono::steady_clock;

// Every simple lock lives this long after it is taken or kept alive (h5pySWMR's EXPIRE).
constexpr std::chrono::seconds key_ttl{20};
// The shared ids: `w` taken by the first reader, `r` by the first writer. Whoever leaves last
// gives it back, so the id cannot be the taker's own.
inline const std::string reader_id = "id_reader";
inline const std::string writer_id = "id_writer";

// The keys of one file name F (the string the programs pass, and --lock-key).
struct Keys {
    explicit Keys(const std::string& file);
    std::string mutex1, mutex2, mutex3;  // simple locks guarding the counters and the turnstile
    std::string r;                       // simple lock: held by the writers (id_writer) while any waits or writes
    std::string w;                       // simple lock: readers (id_reader) or one writer (its own id)
    std::string readcount, writecount;   // counters
    // This backend's own, ignored by h5pySWMR programs: +1 on every exclusive grant of a mount
    // (generation), +1 on every h5swmrfs-ctl break (break epoch).
    std::string generation, breaks;
    // The five simple locks, then the two counters: what `break` deletes.
    std::vector<std::string> protocol() const;
};

// A random id for one simple lock acquisition, naming its taker: h5swmrfs:HOST:PID:HEX.
std::string own_id();

// The steps, each one command or one atomic script. A RedisError(Unreachable) leaves it
// unknown whether a command ran; the callers decide what may be retried.
class Steps {
public:
    Steps(redis::Endpoint endpoint, std::chrono::milliseconds timeout);

    // SET key id NX EX 20 (h5pySWMR's SETNX then EXPIRE, in one step so that no key is ever left
    // without a TTL); a key found without a TTL gets one, as h5pySWMR means to do.
    bool try_take(const std::string& key, const std::string& id);
    // try_take, and also true (with the TTL set again) when the key already has this id: for
    // the shared ids, whose group this caller joins.
    bool try_take_or_keep(const std::string& key, const std::string& id);
    // Deletes the key only if it has this id (h5pySWMR: WATCH, GET, MULTI, DEL).
    bool give(const std::string& key, const std::string& id);
    // EXPIRE 20 only if the key has this id: a holder keeps its key alive.
    bool keep(const std::string& key, const std::string& id);
    // INCR counter; also returns the break epoch, so that the matching DECR can tell a break.
    std::pair<long long, std::string> incr(const std::string& counter, const std::string& breaks);
    // DECR counter unless the break epoch moved since `epoch` (the count was cleared by a break
    // and is no longer ours to take back): nullopt then.
    std::optional<long long> decr(const std::string& counter, const std::string& breaks, const std::string& epoch);
    long long incr(const std::string& counter);
    long long counter(const std::string& key);
    // Waits for try_take (or try_take_or_keep) to succeed, trying every millisecond, and
    // returns when the attempt that succeeded was sent (the key's TTL runs from later). Throws
    // Error(EBUSY) at `deadline`, Error(EIO) when redis stayed unreachable until then.
    Clock::time_point take(const std::string& key, const std::string& id, Clock::time_point deadline,
                           bool or_keep = false);

    redis::Pool& pool() noexcept { return pool_; }

private:
    redis::ReplyPtr eval(const std::string& script, const std::string& sha1, const std::vector<std::string>& keys,
                         const std::vector<std::string>& args);
    redis::Pool pool_;
};

}  // namespace h5swmrfs::lock::h5pyswmr
