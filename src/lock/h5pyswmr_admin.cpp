#include "lock/h5pyswmr_admin.h"

#include "lock/h5pyswmr_protocol.h"
#include "util/error.h"

#include <algorithm>

namespace h5swmrfs::lock {
namespace {

redis::Connection connect(const Options& options) {
    redis::Endpoint endpoint = redis::parse_url(options.redis_url.empty() ? default_redis_url() : options.redis_url);
    if (!options.redis_password.empty()) endpoint.password = options.redis_password;
    return redis::Connection(endpoint, std::clamp<std::chrono::milliseconds>(options.timeout, std::chrono::milliseconds(500),
                                                                             std::chrono::milliseconds(10000)));
}

std::string describe_endpoint(const Options& options) {
    return redis::parse_url(options.redis_url.empty() ? default_redis_url() : options.redis_url).describe();
}

// Who an id names: ours are h5swmrfs:HOST:PID:HEX, h5pySWMR's own pidPID_UUID.
Participant holder_of(const std::string& id, Mode mode) {
    Participant p;
    p.token = id;
    p.state = "holding";
    p.mode = mode == Mode::Shared ? "S" : "X";
    try {
        if (id.starts_with("h5swmrfs:")) {
            const auto host_end = id.find(':', 9);
            const auto pid_end = id.find(':', host_end + 1);
            p.host = id.substr(9, host_end - 9);
            p.pid = std::stol(id.substr(host_end + 1, pid_end - host_end - 1));
            p.label = "h5swmrfs";
        } else if (id.starts_with("pid")) {
            p.pid = std::stol(id.substr(3, id.find('_') - 3));
            p.label = "h5pySWMR";
        }
    } catch (...) {
    }
    return p;
}

}  // namespace

LockStatus h5pyswmr_status(const Options& options) {
    redis::Connection connection = connect(options);
    const h5pyswmr::Keys keys(options.key);
    LockStatus status;
    status.backend = "h5pyswmr";
    status.key = options.key;
    status.where = describe_endpoint(options);
    const std::pair<const char*, const std::string*> counters[] = {
        {"readcount", &keys.readcount}, {"writecount", &keys.writecount},
        {"h5swmrfs_gen", &keys.generation}, {"h5swmrfs_breaks", &keys.breaks}};
    for (const auto& [name, key] : counters)
        status.counters.emplace_back(name, redis::integer_of(connection.command({"GET", *key}).get()));
    status.generation = status.fence = static_cast<std::uint64_t>(std::max(0LL, status.counters[2].second));
    const std::pair<const char*, const std::string*> simple[] = {
        {"mutex1", &keys.mutex1}, {"mutex2", &keys.mutex2}, {"mutex3", &keys.mutex3}, {"r", &keys.r}, {"w", &keys.w}};
    for (const auto& [name, key] : simple) {
        SimpleLock lock;
        lock.name = name;
        lock.holder = redis::string_of(connection.command({"GET", *key}).get());
        const long long pttl = redis::integer_of(connection.command({"PTTL", *key}).get());
        if (pttl >= 0) lock.ttl_seconds = static_cast<double>(pttl) / 1000.0;
        lock.missing_ttl = pttl == -1;
        status.simple_locks.push_back(lock);
    }
    // The holders as far as the keys tell: w is the readers' (how many: readcount) or one
    // writer's; writers waiting are counted in writecount.
    const std::string& w = status.simple_locks[4].holder;
    if (w == h5pyswmr::reader_id) {
        Participant p = holder_of(w, Mode::Shared);
        p.label = std::to_string(status.counters[0].second) + " reader(s)";
        p.lease_left_seconds = status.simple_locks[4].ttl_seconds;
        status.holders.push_back(p);
    } else if (!w.empty()) {
        Participant p = holder_of(w, Mode::Exclusive);
        p.lease_left_seconds = status.simple_locks[4].ttl_seconds;
        status.holders.push_back(p);
    }
    return status;
}

BreakResult h5pyswmr_break(const Options& options) {
    redis::Connection connection = connect(options);
    const h5pyswmr::Keys keys(options.key);
    // One transaction: nobody sees half the keys gone.
    std::vector<std::string> del{"DEL"};
    for (const std::string& key : keys.protocol()) del.push_back(key);
    connection.command({"MULTI"});
    connection.command(del);
    connection.command({"INCR", keys.breaks});
    redis::ReplyPtr reply = connection.command({"EXEC"});
    if (reply->type != REDIS_REPLY_ARRAY || reply->elements != 2) throw Error(EIO, "unexpected reply to the break transaction");
    BreakResult result;
    result.keys_deleted = static_cast<std::size_t>(redis::integer_of(reply->element[0]));
    return result;
}

}  // namespace h5swmrfs::lock
