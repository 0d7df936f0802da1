// The redis side of the lock: key names and the Lua scripts that make every state change
// one atomic step. docs/LOCKING.md describes them for other implementations.
#pragma once

#include "lock/redis_connection.h"

#include <string>
#include <string_view>
#include <vector>

namespace h5swmrfs::lock::redis {

// Every key of one lock, all under "h5swmr:{KEY}:" so they share one cluster hash slot.
struct KeyNames {
    explicit KeyNames(std::string_view key);
    std::string prefix;      // h5swmr:{KEY}:
    std::string holders;     // hash  token -> "S" | "X"             (granted holds)
    std::string owners;      // hash  token -> JSON {host,pid,label,mode,state,since}
    std::string leases;      // zset  token -> lease end, ms of redis TIME (holders and waiting writers)
    std::string writers;     // zset  token -> ticket                 (waiting writers, FIFO)
    std::string generation;  // string counter: +1 per exclusive grant and per break; past the
                             // server clock (µs) when a new redis process first serves the key,
                             // or a caller was granted a higher one (the state was lost)
    std::string fence;       // string counter: +1 per exclusive grant (moved likewise)
    std::string ticket;      // string counter: ticket source for `writers`
    std::string server;      // hash  run_id, since: the redis process that first served the key's
                             // present state, and when; grace_until: no grant before this (ms of
                             // redis TIME) after a restart, a loss or a rollback; max_lease: the
                             // longest lease ever asked for
    std::string broken;      // set   tokens of broken holds: no renewal, kept until their lease ends
    std::string drops;       // zset  token -> lease end, ms of redis TIME (shared holds released as drops,
                             //       not yet reported dropped)
    std::string dropgen;     // hash  token -> generation the drop's hold was held in
    std::string channel;     // pub/sub channel: "released" | "writer" | "dropped"
    // The KEYS every script takes, in this order.
    std::vector<std::string> script_keys() const;
};

class Script {
public:
    Script(std::string_view name, std::string text);
    // EVALSHA; EVAL when the server does not know the script (first use, restart, SCRIPT FLUSH).
    // `args` follow the channel, which is always ARGV[1].
    ReplyPtr run(Connection& connection, const KeyNames& keys, const std::vector<std::string>& args) const;
    const std::string& name() const noexcept { return name_; }
    const std::string& text() const noexcept { return text_; }
    const std::string& sha1() const noexcept { return sha1_; }

private:
    std::string name_;
    std::string text_;
    std::string sha1_;
};

// ARGV: channel, mode "S"|"X", token, lease ms, owner JSON {host,pid,label}[, the highest
//       generation the caller was granted on this key (0: none)]
// -> {granted 0|1, generation, fence, retry-after ms, 1 if the state may lack holds granted
//    before (another redis process served the key: restarted, failed over, older snapshot; or
//    the key is behind the caller's generation: lost or rolled back) — then nothing is granted
//    for the longest lease, 2 if nothing was recorded nor seen (first use, or every key lost),
//    else 0; 1 if the script may not run INFO (then a new redis process goes unseen)}
const Script& acquire_script();
// ARGV: channel, token[, "drop", lease ms] -> 2 if it was a shared holder and (with "drop") is
// now a drop, 1 if it was a holder, else 0 (expired, purged, or broken: nothing recorded)
const Script& release_script();
// ARGV: channel, lease ms, token... -> {1|0 per token: still present (hold, waiting writer or
// drop) and extended}
const Script& renew_script();
// ARGV: channel, token -> 1 if the drop was there (now removed), else 0
const Script& dropped_script();
// ARGV: channel, generation, token to ignore... -> {live drops of older generations, ms until
// the first of their leases ends (0 when none)}
const Script& wait_drops_script();
// ARGV: channel -> {now ms, generation, fence, {token, state, mode, host, pid, label, since, lease end, ticket}...,
//                   {token, host, pid, label, since, lease end, generation}... (the drops)}
const Script& status_script();
// ARGV: channel -> {holds broken, waiting writers removed, ms until the last broken lease ends}
const Script& break_script();

std::string sha1_hex(std::string_view data);

}  // namespace h5swmrfs::lock::redis
