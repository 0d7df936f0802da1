#include "lock/admin.h"

#include "lock/h5pyswmr_admin.h"
#include "lock/identity.h"
#include "lock/local_layout.h"
#include "lock/redis_scripts.h"
#include "util/error.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>

#include <algorithm>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

namespace h5swmrfs::lock {
namespace {

redis::Endpoint endpoint_of(const Options& options) {
    redis::Endpoint endpoint = redis::parse_url(options.redis_url.empty() ? default_redis_url() : options.redis_url);
    if (!options.redis_password.empty()) endpoint.password = options.redis_password;
    return endpoint;
}

std::chrono::milliseconds command_timeout(const Options& options) {
    return std::clamp<std::chrono::milliseconds>(options.timeout, std::chrono::milliseconds(500),
                                                 std::chrono::milliseconds(10000));
}

LockStatus redis_status(const Options& options) {
    const redis::Endpoint endpoint = endpoint_of(options);
    redis::Connection connection(endpoint, command_timeout(options));
    const redis::KeyNames keys(options.key);
    redis::ReplyPtr reply = redis::status_script().run(connection, keys, {});
    if (reply->type != REDIS_REPLY_ARRAY || reply->elements != 5 || reply->element[3]->type != REDIS_REPLY_ARRAY ||
        reply->element[4]->type != REDIS_REPLY_ARRAY)
        throw Error(EIO, "unexpected reply to the status script");
    LockStatus status;
    status.backend = "redis";
    status.key = options.key;
    status.where = endpoint.describe();
    const long long now = redis::integer_of(reply->element[0]);
    status.generation = static_cast<std::uint64_t>(redis::integer_of(reply->element[1]));
    status.fence = static_cast<std::uint64_t>(redis::integer_of(reply->element[2]));
    const redisReply* entries = reply->element[3];
    for (std::size_t i = 0; i < entries->elements; ++i) {
        const redisReply* e = entries->element[i];
        if (e->type != REDIS_REPLY_ARRAY || e->elements != 9) continue;
        Participant p;
        p.token = redis::string_of(e->element[0]);
        p.state = redis::string_of(e->element[1]);
        p.mode = redis::string_of(e->element[2]);
        p.host = redis::string_of(e->element[3]);
        try {
            p.pid = std::stol(redis::string_of(e->element[4]));
        } catch (...) {
        }
        p.label = redis::string_of(e->element[5]);
        long long since = 0, lease_end = 0;
        try {
            since = std::stoll(redis::string_of(e->element[6]));
            lease_end = std::stoll(redis::string_of(e->element[7]));
        } catch (...) {
        }
        if (since > 0) p.age_seconds = static_cast<double>(now - since) / 1000.0;
        p.lease_left_seconds = static_cast<double>(lease_end - now) / 1000.0;
        const bool waiting = p.state == "waiting";
        if (lease_end <= now) p.state = "expired";
        (waiting ? status.waiting : status.holders).push_back(p);
    }
    const redisReply* drops = reply->element[4];
    for (std::size_t i = 0; i < drops->elements; ++i) {
        const redisReply* e = drops->element[i];
        if (e->type != REDIS_REPLY_ARRAY || e->elements != 7) continue;
        Participant p;
        p.token = redis::string_of(e->element[0]);
        p.state = "dropping";
        p.mode = "S";
        p.host = redis::string_of(e->element[1]);
        p.label = redis::string_of(e->element[3]);
        long long since = 0, lease_end = 0;
        try {
            p.pid = std::stol(redis::string_of(e->element[2]));
        } catch (...) {
        }
        try {
            since = std::stoll(redis::string_of(e->element[4]));
            lease_end = std::stoll(redis::string_of(e->element[5]));
            p.generation = std::stoull(redis::string_of(e->element[6]));
        } catch (...) {
        }
        if (since > 0) p.age_seconds = static_cast<double>(now - since) / 1000.0;  // since it was dropped
        p.lease_left_seconds = static_cast<double>(lease_end - now) / 1000.0;
        if (lease_end <= now) p.state = "expired";
        status.drops.push_back(p);
    }
    return status;
}

std::string command_line(long pid) {
    std::ifstream in("/proc/" + std::to_string(pid) + "/cmdline");
    std::string cmd;
    std::getline(in, cmd);
    for (char& c : cmd)
        if (c == '\0') c = ' ';
    while (!cmd.empty() && cmd.back() == ' ') cmd.pop_back();
    return cmd;
}

// What /proc/PID/fdinfo/FD says of a descriptor: its mount and inode (-1 where the kernel
// does not say) and its lock lines.
struct FdInfo {
    long long mnt_id = -1;
    long long ino = -1;
    std::vector<std::string> locks;
};

FdInfo read_fdinfo(const std::filesystem::path& path) {
    FdInfo info;
    std::ifstream in(path);
    std::string line;
    while (std::getline(in, line)) {
        try {
            if (line.starts_with("mnt_id:")) info.mnt_id = std::stoll(line.substr(7));
            else if (line.starts_with("ino:")) info.ino = std::stoll(line.substr(4));
            else if (line.starts_with("lock:")) info.locks.push_back(line.substr(5));
        } catch (...) {
        }
    }
    return info;
}

// Whether descriptor `fd` (a /proc/PID/fd link) is open on the sidecar `st`, whose mount id
// is `mnt_id` (-1 unknown). Told from its fdinfo where it can be: a stat through the link
// would ask the file's own filesystem, and a descriptor on a mount whose FUSE daemon is
// stopped would hang it. Only a descriptor on the sidecar's inode number but another mount
// (a bind mount) is stat'ed.
bool is_sidecar(const std::filesystem::path& fd, const FdInfo& info, const struct stat& st, long long mnt_id) {
    if (info.ino >= 0) {
        if (static_cast<ino_t>(info.ino) != st.st_ino) return false;
        if (mnt_id >= 0 && info.mnt_id == mnt_id) return true;
    }
    struct stat target {};
    return ::stat(fd.c_str(), &target) == 0 && target.st_dev == st.st_dev && target.st_ino == st.st_ino;
}

// The sidecar's mount id; -1 when the kernel does not say.
long long mount_id_of(const std::string& path) {
    struct statx stx {};
    if (::statx(AT_FDCWD, path.c_str(), 0, STATX_MNT_ID, &stx) != 0 || !(stx.stx_mask & STATX_MNT_ID)) return -1;
    return static_cast<long long>(stx.stx_mnt_id);
}

// OFD locks do not name their process in /proc/locks (pid -1), so the holders are found
// through the descriptors that have the sidecar open: /proc/PID/fdinfo/FD lists the locks
// held through that descriptor ("lock:\t1: OFDLCK ADVISORY  READ -1 fe:00:131 65 65").
// A descriptor holding the rw byte (65) is a holder; one holding a drop byte (from 4096) is
// a drop; one holding only the turnstile (64) or nothing is waiting. Only processes we may
// inspect are seen (all of them as root).
LockStatus local_status(const Options& options) {
    const std::string& path = options.local_lock_file;
    struct stat st {};
    if (::stat(path.c_str(), &st) != 0) throw Error(errno, path + ": " + std::strerror(errno));
    LockStatus status;
    status.backend = "local";
    status.key = path;
    status.where = path;
    {
        std::ifstream in(path, std::ios::binary);
        std::uint64_t values[2] = {0, 0};
        if (in.read(reinterpret_cast<char*>(values), sizeof values)) {
            status.generation = values[0];
            status.fence = values[1];
        }
    }
    const std::string host = host_name();
    const long long mnt_id = mount_id_of(path);
    namespace fs = std::filesystem;
    std::error_code ec;
    for (const auto& proc : fs::directory_iterator("/proc", ec)) {
        const std::string name = proc.path().filename();
        if (name.empty() || name.find_first_not_of("0123456789") != std::string::npos) continue;
        const long pid = std::stol(name);
        std::error_code fd_ec;
        for (const auto& fd : fs::directory_iterator(proc.path() / "fd", fd_ec)) {
            const FdInfo info = read_fdinfo(proc.path() / "fdinfo" / fd.path().filename());
            if (!is_sidecar(fd.path(), info, st, mnt_id)) continue;
            std::string rw;  // READ | WRITE | empty
            bool turnstile = false;
            long long drop_byte = -1;
            for (const std::string& line : info.locks) {
                std::istringstream fields(line);
                std::string id, kind, advisory, type, pid_field, dev;
                long long start = 0;
                fields >> id >> kind >> advisory >> type >> pid_field >> dev >> start;
                if (start == local_layout::rw_byte) rw = type;
                if (start == local_layout::turnstile_byte) turnstile = true;
                if (start >= local_layout::drop_region && type == "WRITE") drop_byte = start;  // READ: a writer waiting for drops
            }
            Participant p;
            p.token = name + "/" + fd.path().filename().string();
            p.host = host;
            p.pid = pid;
            p.label = command_line(pid);
            if (drop_byte >= 0 && rw.empty()) {
                p.state = "dropping";
                p.mode = "S";
                p.generation = static_cast<std::uint64_t>((drop_byte - local_layout::drop_region) / local_layout::drop_slots);
                status.drops.push_back(p);
            } else if (!rw.empty()) {
                p.state = "holding";
                p.mode = rw == "WRITE" ? "X" : "S";
                status.holders.push_back(p);
            } else {
                p.state = "waiting";
                p.mode = turnstile ? "X" : "?";  // holding the turnstile while waiting: a writer (or a reader behind one)
                status.waiting.push_back(p);
            }
        }
    }
    return status;
}

}  // namespace

LockStatus read_status(const Options& options) {
    if (options.backend == "redis") return redis_status(options);
    if (options.backend == "h5pyswmr") return h5pyswmr_status(options);
    if (options.backend == "local") return local_status(options);
    throw Error(EINVAL, "status: unsupported lock backend '" + options.backend + "'");
}

BreakResult break_lock(const Options& options) {
    if (options.backend == "local") {
        LockStatus status = local_status(options);
        std::string pids;
        for (const auto& p : status.holders) pids += " " + std::to_string(p.pid);
        throw Error(EPERM, "a local lock cannot be broken by hand; the kernel releases it when its holders exit" +
                               (pids.empty() ? std::string(" (nobody holds it now)") : " (held by pid" + pids + ")"));
    }
    if (options.backend == "h5pyswmr") return h5pyswmr_break(options);
    if (options.backend != "redis") throw Error(EINVAL, "break: unsupported lock backend '" + options.backend + "'");
    redis::Connection connection(endpoint_of(options), command_timeout(options));
    redis::ReplyPtr reply = redis::break_script().run(connection, redis::KeyNames(options.key), {});
    if (reply->type != REDIS_REPLY_ARRAY || reply->elements != 3) throw Error(EIO, "unexpected reply to the break script");
    BreakResult result;
    result.holds = static_cast<std::size_t>(redis::integer_of(reply->element[0]));
    result.waiting = static_cast<std::size_t>(redis::integer_of(reply->element[1]));
    result.free_in_seconds = static_cast<double>(redis::integer_of(reply->element[2])) / 1000.0;
    return result;
}

}  // namespace h5swmrfs::lock
