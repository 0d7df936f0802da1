#include "lock/redis_scripts.h"

#include <array>
#include <cstdint>
#include <cstdio>

namespace h5swmrfs::lock::redis {
namespace {

// Shared start of every script: names, server time, and the purge of expired entries.
// Time is redis TIME only; no client clock ever enters the lock state.
constexpr std::string_view prelude = R"lua(
local holders, owners, leases, writers = KEYS[1], KEYS[2], KEYS[3], KEYS[4]
local generation, fence, ticket, server, broken = KEYS[5], KEYS[6], KEYS[7], KEYS[8], KEYS[9]
local drops, dropgen = KEYS[10], KEYS[11]
local channel = ARGV[1]
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
local function purge()
  local dead = redis.call('ZRANGEBYSCORE', leases, '-inf', now)
  for _, tok in ipairs(dead) do
    redis.call('HDEL', holders, tok)
    redis.call('HDEL', owners, tok)
    redis.call('ZREM', writers, tok)
    redis.call('ZREM', leases, tok)
    redis.call('SREM', broken, tok)
  end
  if #dead > 0 then redis.call('PUBLISH', channel, 'released') end
  -- A drop whose process stopped renewing it: that process is gone or paused past its lease.
  local ended = redis.call('ZRANGEBYSCORE', drops, '-inf', now)
  for _, tok in ipairs(ended) do
    redis.call('ZREM', drops, tok)
    redis.call('HDEL', dropgen, tok)
    redis.call('HDEL', owners, tok)
  end
  if #ended > 0 then redis.call('PUBLISH', channel, 'dropped') end
end
local function counter(key)
  return tonumber(redis.call('GET', key) or '0')
end
-- A holder whose hold was broken (h5swmrfs-ctl break) is also in `broken`: it can no
-- longer renew, but keeps its place in `holders` until its lease runs out, since it may
-- still be writing until then.
local function is_broken(tok)
  return redis.call('SISMEMBER', broken, tok) == 1
end
-- Generations never repeat, even when redis loses its data or reloads an older snapshot:
-- each redis process that serves this key for the first time (a run_id not recorded here),
-- or that has a lower generation than its caller was granted, moves the generation past the
-- server's clock in microseconds, which no generation handed out before can have reached
-- (one grant per microsecond is far beyond any redis).
local function run_id()
  local ok, info = pcall(redis.call, 'INFO', 'server')
  if not ok then return nil end
  return string.match(info, 'run_id:(%x+)')
end
-- Whether the state may lack holds granted before, as seen by a caller that was granted
-- generation `seen` before (0: none) with leases of `lease` ms; returns it and the run_id:
-- 1: yes: another redis process served this key (restart, failover, older snapshot), or the
--    caller saw a later generation than the key has now, or one from before the key's
--    record began when nothing told that record from a first use (its state was lost).
--    Nothing is granted until every hold it may have forgotten has run out;
-- 2: nothing recorded, nothing seen: the key's first use, or a loss that only a caller that
--    saw an earlier generation can tell. Nothing is granted for a moment (`witnesses`), in
--    which holders that survived the loss renew (told by a notice, or as they reconnect)
--    and so tell it.
-- Without INFO (a redis user refused @dangerous) a new process goes unseen; only a key that
-- has lost its record, or is behind what its caller saw, is recognised.
local function notice_restart(seen, lease)
  local restarted = 0
  local id = run_id()
  local last_id = redis.call('HGET', server, 'run_id')
  local behind = seen > counter(generation)
  local longest = math.max(lease, tonumber(redis.call('HGET', server, 'max_lease') or '0'))
  if (id and last_id ~= id) or (not id and not last_id) or behind then
    restarted = 2
    if last_id or behind then restarted = 1 end
    local micros = tonumber(t[1]) * 1000000 + tonumber(t[2])
    redis.call('SET', generation, string.format('%.0f', math.max(counter(generation) + 1, micros)))
    redis.call('SET', fence, string.format('%.0f', math.max(counter(fence) + 1, micros)))
    redis.call('HSET', server, 'run_id', id or 'unknown', 'since', now)
    redis.call('HDEL', server, 'unproven', 'witnesses_until')
    if restarted == 1 then
      -- A hold granted before and not in this state may still be in use: its lease ends at
      -- most the longest lease from now (its holder stops trusting it sooner). Grant nothing
      -- until then.
      redis.call('HSET', server, 'grace_until', now + longest)
    else
      redis.call('HSET', server, 'unproven', counter(generation),
                 'witnesses_until', now + math.min(math.floor(lease / 4), 500))
      redis.call('PUBLISH', channel, 'restarted')
    end
  elseif seen > 0 and seen < tonumber(redis.call('HGET', server, 'unproven') or '0') then
    -- Granted before this record began, which a caller that saw nothing made: the state
    -- that gave it was lost. Holds from it end by the longest lease after the record began.
    restarted = 1
    local since = tonumber(redis.call('HGET', server, 'since') or now)
    local grace_until = tonumber(redis.call('HGET', server, 'grace_until') or '0')
    redis.call('HSET', server, 'grace_until', math.max(grace_until, since + longest))
  end
  return restarted, id
end
)lua";

constexpr std::string_view acquire_body = R"lua(
purge()
local mode, token, lease = ARGV[2], ARGV[3], tonumber(ARGV[4])
-- The highest generation the caller was granted on this key before (0: none, or not told).
local seen = tonumber(ARGV[6] or '0') or 0
local restarted, id = notice_restart(seen, lease)
local blind = 0
if not id then blind = 1 end
-- ms until grants may be made again (<= 0: now). A caller with a longer lease than any
-- recorded may have held the lock with it: a grace still running lasts that long.
local function grace_left()
  local s = redis.call('HMGET', server, 'max_lease', 'grace_until', 'since', 'witnesses_until')
  local longest, grace_until = tonumber(s[1] or '0'), tonumber(s[2] or '0')
  if lease > longest then
    redis.call('HSET', server, 'max_lease', lease)
    if now < grace_until then
      grace_until = math.max(grace_until, tonumber(s[3] or '0') + lease)
      redis.call('HSET', server, 'grace_until', grace_until)
    end
  end
  return math.max(grace_until, tonumber(s[4] or '0')) - now
end
local grace = grace_left()
local function owner(state)
  local o = cjson.decode(ARGV[5])
  o.mode = mode
  o.state = state
  o.since = now
  return cjson.encode(o)
end
-- When to look again if nobody tells us: when the grace ends, else when the first other
-- entry's lease ends.
local function retry_after()
  if grace > 0 then return grace end
  local first = redis.call('ZRANGE', leases, 0, 1, 'WITHSCORES')
  for i = 1, #first, 2 do
    if first[i] ~= token then return math.max(1, tonumber(first[i + 1]) - now) end
  end
  return lease
end
local function grant(g, f)
  redis.call('HSET', holders, token, mode)
  redis.call('HSET', owners, token, owner('holding'))
  redis.call('ZADD', leases, now + lease, token)
  return {1, g, f, 0, restarted, blind}
end
local held = redis.call('HGET', holders, token)
if held and is_broken(token) then
  -- Granted, broken before the grant's reply arrived: its requester never used it.
  redis.call('HDEL', holders, token)
  redis.call('HDEL', owners, token)
  redis.call('ZREM', leases, token)
  redis.call('SREM', broken, token)
elseif held then
  -- A retry after the reply to a grant was lost: still ours.
  redis.call('ZADD', leases, now + lease, token)
  return {1, counter(generation), counter(fence), 0, restarted, blind}
end
local nholders = redis.call('HLEN', holders)
if mode == 'S' then
  local exclusive = false
  for _, m in ipairs(redis.call('HVALS', holders)) do
    if m == 'X' then exclusive = true end
  end
  if grace <= 0 and not exclusive and redis.call('ZCARD', writers) == 0 then
    return grant(counter(generation), counter(fence))
  end
  return {0, 0, 0, retry_after(), restarted, blind}
end
local head = redis.call('ZRANGE', writers, 0, 0)
if grace <= 0 and nholders == 0 and (#head == 0 or head[1] == token) then
  redis.call('ZREM', writers, token)
  local g = redis.call('INCR', generation)
  local f = redis.call('INCR', fence)
  return grant(g, f)
end
if not redis.call('ZSCORE', writers, token) then
  redis.call('ZADD', writers, redis.call('INCR', ticket), token)
  redis.call('HSET', owners, token, owner('waiting'))
end
redis.call('ZADD', leases, now + lease, token)
redis.call('PUBLISH', channel, 'writer')
return {0, 0, 0, retry_after(), restarted, blind}
)lua";

constexpr std::string_view release_body = R"lua(
purge()
local token = ARGV[2]
-- A broken hold stays until its lease ends: its holder gave up, but what it started (a
-- program under `h5swmrfs-ctl run`) may not have stopped.
if is_broken(token) then return 0 end
local mode = redis.call('HGET', holders, token)
local waited = redis.call('ZREM', writers, token)
redis.call('HDEL', holders, token)
redis.call('ZREM', leases, token)
-- A caching process's shared hold becomes a drop: it may still serve what it read under
-- this generation (no exclusive hold can have been granted while it held S) until it
-- reports dropped, or its lease (renewed like a hold's) ends.
local recorded = false
if mode == 'S' and ARGV[3] == 'drop' then
  redis.call('ZADD', drops, now + tonumber(ARGV[4]), token)
  redis.call('HSET', dropgen, token, redis.call('GET', generation) or '0')
  local ok, o = pcall(cjson.decode, redis.call('HGET', owners, token) or '{}')
  if not ok or type(o) ~= 'table' then o = {} end
  o.state = 'dropping'
  o.since = now
  redis.call('HSET', owners, token, cjson.encode(o))
  recorded = true
else
  redis.call('HDEL', owners, token)
end
if waited == 1 or (mode and redis.call('HLEN', holders) == 0) then
  redis.call('PUBLISH', channel, 'released')
end
if recorded then return 2 end
if mode then return 1 end
return 0
)lua";

constexpr std::string_view dropped_body = R"lua(
purge()
local token = ARGV[2]
local was = redis.call('ZREM', drops, token)
redis.call('HDEL', dropgen, token)
if was == 1 then
  redis.call('HDEL', owners, token)
  redis.call('PUBLISH', channel, 'dropped')
end
return was
)lua";

constexpr std::string_view wait_drops_body = R"lua(
-- Drops a writer of generation ARGV[2] must wait for: those of older generations, but
-- not the tokens named after it (the writer's own). Returns {how many, ms until the
-- first of their leases ends} ({0, 0} when none).
purge()
local g = tonumber(ARGV[2])
local ignored = {}
for i = 3, #ARGV do ignored[ARGV[i]] = true end
local count, first = 0, 0
local live = redis.call('ZRANGE', drops, 0, -1, 'WITHSCORES')
for i = 1, #live, 2 do
  local tok = live[i]
  if not ignored[tok] and tonumber(redis.call('HGET', dropgen, tok) or '0') < g then
    if count == 0 then first = math.max(1, tonumber(live[i + 1]) - now) end
    count = count + 1
  end
end
return {count, first}
)lua";

constexpr std::string_view renew_body = R"lua(
-- ARGV: lease (ms), the highest generation the caller was granted, the tokens to renew.
-- Returns 1 or 0 for each token (renewed or not), then what notice_restart found.
purge()
local lease = tonumber(ARGV[2])
local restarted = notice_restart(tonumber(ARGV[3]) or 0, lease)
local result = {}
for i = 4, #ARGV do
  if redis.call('ZSCORE', leases, ARGV[i]) and not is_broken(ARGV[i]) then
    redis.call('ZADD', leases, now + lease, ARGV[i])
    result[#result + 1] = 1
  elseif redis.call('ZSCORE', drops, ARGV[i]) then
    redis.call('ZADD', drops, now + lease, ARGV[i])
    result[#result + 1] = 1
  else
    result[#result + 1] = 0
  end
end
result[#result + 1] = restarted
return result
)lua";

constexpr std::string_view status_body = R"lua(
local entries = {}
local all = redis.call('ZRANGE', leases, 0, -1, 'WITHSCORES')
for i = 1, #all, 2 do
  local tok = all[i]
  local mode = redis.call('HGET', holders, tok)
  local tkt = redis.call('ZSCORE', writers, tok)
  local ok, o = pcall(cjson.decode, redis.call('HGET', owners, tok) or '{}')
  if not ok or type(o) ~= 'table' then o = {} end
  local state = 'unknown'
  if mode and is_broken(tok) then
    state = 'broken'
  elseif mode then
    state = 'holding'
  elseif tkt then
    state = 'waiting'
  end
  entries[#entries + 1] = {tok, state, mode or o.mode or '?', tostring(o.host or ''), tostring(o.pid or ''),
    tostring(o.label or ''), tostring(o.since or 0), all[i + 1], tostring(tkt or 0)}
end
local pending = {}
local dropping = redis.call('ZRANGE', drops, 0, -1, 'WITHSCORES')
for i = 1, #dropping, 2 do
  local tok = dropping[i]
  local ok, o = pcall(cjson.decode, redis.call('HGET', owners, tok) or '{}')
  if not ok or type(o) ~= 'table' then o = {} end
  pending[#pending + 1] = {tok, tostring(o.host or ''), tostring(o.pid or ''), tostring(o.label or ''),
    tostring(o.since or 0), dropping[i + 1], redis.call('HGET', dropgen, tok) or '0'}
end
return {now, counter(generation), counter(fence), entries, pending}
)lua";

constexpr std::string_view break_body = R"lua(
-- Holders lose their hold now (their renewals are refused) but keep it from everyone else
-- until their leases run out by this server's clock: one that is alive may be writing until
-- then, and a second writer must never overlap it. Waiting writers leave the queue (a live
-- one joins it again at its next attempt). Returns {holds broken, writers removed, ms until
-- the last broken lease ends}.
purge()
local broke, last_end = 0, now
for _, tok in ipairs(redis.call('HKEYS', holders)) do
  if redis.call('SADD', broken, tok) == 1 then broke = broke + 1 end
  last_end = math.max(last_end, tonumber(redis.call('ZSCORE', leases, tok) or now))
end
local waiting = redis.call('ZRANGE', writers, 0, -1)
for _, tok in ipairs(waiting) do
  redis.call('ZREM', leases, tok)
  redis.call('HDEL', owners, tok)
end
redis.call('DEL', writers)
redis.call('INCR', generation)
redis.call('PUBLISH', channel, 'released')
return {broke, #waiting, last_end - now}
)lua";

std::string join(std::string_view a, std::string_view b) {
    std::string s(a);
    s.append(b);
    return s;
}

std::uint32_t rotl(std::uint32_t x, int n) { return (x << n) | (x >> (32 - n)); }

}  // namespace

KeyNames::KeyNames(std::string_view key) : prefix("h5swmr:{" + std::string(key) + "}:") {
    holders = prefix + "holders";
    owners = prefix + "owners";
    leases = prefix + "leases";
    writers = prefix + "writers";
    generation = prefix + "generation";
    fence = prefix + "fence";
    ticket = prefix + "ticket";
    server = prefix + "server";
    broken = prefix + "broken";
    drops = prefix + "drops";
    dropgen = prefix + "dropgen";
    channel = prefix + "events";
}

std::vector<std::string> KeyNames::script_keys() const {
    return {holders, owners, leases, writers, generation, fence, ticket, server, broken, drops, dropgen};
}

Script::Script(std::string_view name, std::string text) : name_(name), text_(std::move(text)), sha1_(sha1_hex(text_)) {}

ReplyPtr Script::run(Connection& connection, const KeyNames& keys, const std::vector<std::string>& args) const {
    std::vector<std::string> argv{"EVALSHA", sha1_};
    auto key_list = keys.script_keys();
    argv.push_back(std::to_string(key_list.size()));
    argv.insert(argv.end(), key_list.begin(), key_list.end());
    argv.push_back(keys.channel);
    argv.insert(argv.end(), args.begin(), args.end());
    try {
        return connection.command(argv);
    } catch (const RedisError& e) {
        if (e.failure() != Failure::NoScript) throw;
    }
    argv[0] = "EVAL";
    argv[1] = text_;
    return connection.command(argv);
}

const Script& acquire_script() {
    static const Script script("acquire", join(prelude, acquire_body));
    return script;
}
const Script& release_script() {
    static const Script script("release", join(prelude, release_body));
    return script;
}
const Script& renew_script() {
    static const Script script("renew", join(prelude, renew_body));
    return script;
}
const Script& dropped_script() {
    static const Script script("dropped", join(prelude, dropped_body));
    return script;
}
const Script& wait_drops_script() {
    static const Script script("wait_drops", join(prelude, wait_drops_body));
    return script;
}
const Script& status_script() {
    static const Script script("status", join(prelude, status_body));
    return script;
}
const Script& break_script() {
    static const Script script("break", join(prelude, break_body));
    return script;
}

std::string sha1_hex(std::string_view data) {
    std::array<std::uint32_t, 5> h{0x67452301, 0xEFCDAB89, 0x98BADCFE, 0x10325476, 0xC3D2E1F0};
    std::string message(data);
    const std::uint64_t bits = static_cast<std::uint64_t>(data.size()) * 8;
    message.push_back(static_cast<char>(0x80));
    while (message.size() % 64 != 56) message.push_back('\0');
    for (int i = 7; i >= 0; --i) message.push_back(static_cast<char>((bits >> (i * 8)) & 0xff));
    for (std::size_t chunk = 0; chunk < message.size(); chunk += 64) {
        std::uint32_t w[80];
        for (int i = 0; i < 16; ++i) {
            const auto* p = reinterpret_cast<const unsigned char*>(message.data() + chunk + i * 4);
            w[i] = (std::uint32_t(p[0]) << 24) | (std::uint32_t(p[1]) << 16) | (std::uint32_t(p[2]) << 8) | p[3];
        }
        for (int i = 16; i < 80; ++i) w[i] = rotl(w[i - 3] ^ w[i - 8] ^ w[i - 14] ^ w[i - 16], 1);
        std::uint32_t a = h[0], b = h[1], c = h[2], d = h[3], e = h[4];
        for (int i = 0; i < 80; ++i) {
            std::uint32_t f, k;
            if (i < 20) f = (b & c) | (~b & d), k = 0x5A827999;
            else if (i < 40) f = b ^ c ^ d, k = 0x6ED9EBA1;
            else if (i < 60) f = (b & c) | (b & d) | (c & d), k = 0x8F1BBCDC;
            else f = b ^ c ^ d, k = 0xCA62C1D6;
            std::uint32_t temp = rotl(a, 5) + f + e + k + w[i];
            e = d, d = c, c = rotl(b, 30), b = a, a = temp;
        }
        h[0] += a, h[1] += b, h[2] += c, h[3] += d, h[4] += e;
    }
    char out[41];
    for (int i = 0; i < 5; ++i) std::snprintf(out + i * 8, 9, "%08x", h[i]);
    return std::string(out, 40);
}

}  // namespace h5swmrfs::lock::redis
