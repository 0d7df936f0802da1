#include "lock/h5pyswmr_protocol.h"

#include "lock/identity.h"
#include "lock/redis_scripts.h"
#include "util/error.h"

#include <unistd.h>

#include <thread>

namespace h5swmrfs::lock::h5pyswmr {
namespace {

using namespace std::chrono_literals;

struct Lua {
    std::string text;
    std::string sha1;
    explicit Lua(std::string t) : text(std::move(t)), sha1(redis::sha1_hex(text)) {}
};

// KEYS[1] the simple lock; ARGV: id, TTL seconds.
const Lua try_take_script{R"lua(
if redis.call('SET', KEYS[1], ARGV[1], 'NX', 'EX', ARGV[2]) then return 1 end
if redis.call('TTL', KEYS[1]) == -1 then redis.call('EXPIRE', KEYS[1], ARGV[2]) end
return 0
)lua"};
const Lua try_take_or_keep_script{R"lua(
local v = redis.call('GET', KEYS[1])
if v == ARGV[1] then redis.call('EXPIRE', KEYS[1], ARGV[2]) return 1 end
if not v then redis.call('SET', KEYS[1], ARGV[1], 'EX', ARGV[2]) return 1 end
if redis.call('TTL', KEYS[1]) == -1 then redis.call('EXPIRE', KEYS[1], ARGV[2]) end
return 0
)lua"};
// KEYS[1] the simple lock; ARGV: id.
const Lua give_script{R"lua(
if redis.call('GET', KEYS[1]) == ARGV[1] then redis.call('DEL', KEYS[1]) return 1 end
return 0
)lua"};
// KEYS[1] the simple lock; ARGV: id, TTL seconds.
const Lua keep_script{R"lua(
if redis.call('GET', KEYS[1]) == ARGV[1] then redis.call('EXPIRE', KEYS[1], ARGV[2]) return 1 end
return 0
)lua"};
// KEYS: counter, break epoch.
const Lua incr_script{R"lua(
return {redis.call('INCR', KEYS[1]), redis.call('GET', KEYS[2]) or ''}
)lua"};
// KEYS: counter, break epoch; ARGV: the epoch seen at the INCR.
const Lua decr_script{R"lua(
if (redis.call('GET', KEYS[2]) or '') ~= ARGV[1] then return false end
return redis.call('DECR', KEYS[1])
)lua"};

const std::string ttl_text = std::to_string(key_ttl.count());

}  // namespace

Keys::Keys(const std::string& file)
    : mutex1("mutex1__" + file),
      mutex2("mutex2__" + file),
      mutex3("mutex3__" + file),
      r("r__" + file),
      w("w__" + file),
      readcount("readcount__" + file),
      writecount("writecount__" + file),
      generation("h5swmrfs_gen__" + file),
      breaks("h5swmrfs_breaks__" + file) {}

std::vector<std::string> Keys::protocol() const { return {mutex1, mutex2, mutex3, r, w, readcount, writecount}; }

std::string own_id() { return "h5swmrfs:" + host_name() + ":" + std::to_string(::getpid()) + ":" + random_token(); }

Steps::Steps(redis::Endpoint endpoint, std::chrono::milliseconds timeout) : pool_(std::move(endpoint), timeout) {}

redis::ReplyPtr Steps::eval(const std::string& script, const std::string& sha1, const std::vector<std::string>& keys,
                            const std::vector<std::string>& args) {
    std::vector<std::string> argv{"EVALSHA", sha1, std::to_string(keys.size())};
    argv.insert(argv.end(), keys.begin(), keys.end());
    argv.insert(argv.end(), args.begin(), args.end());
    return pool_.with([&](redis::Connection& c) {
        try {
            return c.command(argv);
        } catch (const redis::RedisError& e) {
            if (e.failure() != redis::Failure::NoScript) throw;
        }
        argv[0] = "EVAL";
        argv[1] = script;
        return c.command(argv);
    });
}

bool Steps::try_take(const std::string& key, const std::string& id) {
    const Lua& s = try_take_script;
    return redis::integer_of(eval(s.text, s.sha1, {key}, {id, ttl_text}).get()) == 1;
}

bool Steps::try_take_or_keep(const std::string& key, const std::string& id) {
    const Lua& s = try_take_or_keep_script;
    return redis::integer_of(eval(s.text, s.sha1, {key}, {id, ttl_text}).get()) == 1;
}

bool Steps::give(const std::string& key, const std::string& id) {
    const Lua& s = give_script;
    return redis::integer_of(eval(s.text, s.sha1, {key}, {id}).get()) == 1;
}

bool Steps::keep(const std::string& key, const std::string& id) {
    const Lua& s = keep_script;
    return redis::integer_of(eval(s.text, s.sha1, {key}, {id, ttl_text}).get()) == 1;
}

std::pair<long long, std::string> Steps::incr(const std::string& counter, const std::string& breaks) {
    const Lua& s = incr_script;
    redis::ReplyPtr reply = eval(s.text, s.sha1, {counter, breaks}, {});
    if (reply->type != REDIS_REPLY_ARRAY || reply->elements != 2)
        throw redis::RedisError(redis::Failure::Reply, "unexpected reply to INCR " + counter);
    return {redis::integer_of(reply->element[0]), redis::string_of(reply->element[1])};
}

std::optional<long long> Steps::decr(const std::string& counter, const std::string& breaks, const std::string& epoch) {
    const Lua& s = decr_script;
    redis::ReplyPtr reply = eval(s.text, s.sha1, {counter, breaks}, {epoch});
    if (reply->type == REDIS_REPLY_NIL) return std::nullopt;
    return redis::integer_of(reply.get());
}

long long Steps::incr(const std::string& counter) {
    return pool_.with([&](redis::Connection& c) { return redis::integer_of(c.command({"INCR", counter}).get()); });
}

long long Steps::counter(const std::string& key) {
    return pool_.with([&](redis::Connection& c) { return redis::integer_of(c.command({"GET", key}).get()); });
}

Clock::time_point Steps::take(const std::string& key, const std::string& id, Clock::time_point deadline, bool or_keep) {
    std::string unreachable;
    for (;;) {
        const Clock::time_point sent = Clock::now();
        try {
            if (or_keep ? try_take_or_keep(key, id) : try_take(key, id)) return sent;
            unreachable.clear();
        } catch (const redis::RedisError& e) {
            if (e.failure() != redis::Failure::Unreachable) throw;
            unreachable = e.what();
            // The SET may have run with its reply lost: the key then has our id, which (new
            // for each acquisition, or the group's) is ours to keep.
            or_keep = true;
        }
        if (Clock::now() >= deadline) {
            if (!unreachable.empty()) throw Error(EIO, unreachable);
            throw Error(EBUSY, key + " still taken (h5swmrfs-ctl --lock h5pyswmr status shows its holder)");
        }
        std::this_thread::sleep_for(unreachable.empty() ? 1ms : 50ms);
    }
}

}  // namespace h5swmrfs::lock::h5pyswmr
