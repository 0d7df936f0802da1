#include "mount_status.h"

#include "format.h"
#include "lock/identity.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <climits>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <sstream>
#include <thread>

#include "util/error.h"
#include "util/fd.h"

namespace h5swmrfs::ctl {
namespace {

using Clock = std::chrono::steady_clock;

bool is_h5swmrfs(const util::MountEntry& entry) { return entry.type == "fuse.h5swmrfs"; }

// The last mount (the one on top) whose mount point is `path` or holds it.
MountLookup match(const std::string& path, const std::vector<util::MountEntry>& mounts) {
    MountLookup found;
    std::size_t best = 0;
    for (const util::MountEntry& entry : mounts) {
        const std::string& point = entry.mount_point;
        const bool same = point == path;
        const bool holds = point == "/" || (path.starts_with(point) && path.size() > point.size() && path[point.size()] == '/');
        if (!same && !holds) continue;
        if (point.size() < best) continue;
        best = point.size();
        found.mount = entry;
        if (same) found.kind = is_h5swmrfs(entry) ? MountLookup::Kind::Mount : MountLookup::Kind::OtherMount;
        else found.kind = is_h5swmrfs(entry) ? MountLookup::Kind::Inside : MountLookup::Kind::Other;
    }
    return found;
}

// `path` with its directory's symbolic links resolved (the last component is not touched).
std::string with_resolved_directory(const std::string& path) {
    const std::size_t slash = path.rfind('/');
    if (slash == std::string::npos || path == "/") return path;
    const std::string directory = slash == 0 ? "/" : path.substr(0, slash);
    char resolved[PATH_MAX];
    if (!::realpath(directory.c_str(), resolved)) return path;
    const std::string base = resolved;
    return (base == "/" ? "" : base) + path.substr(slash);
}

std::string seconds_text(double s) {
    char buffer[32];
    std::snprintf(buffer, sizeof buffer, "%.3f s", s);
    return buffer;
}

const char* state_name(Answer::State state) {
    switch (state) {
        case Answer::State::Answers: return "answers";
        case Answer::State::Silent: return "silent";
        case Answer::State::Gone: return "gone";
        case Answer::State::Failed: return "failed";
    }
    return "?";
}

}  // namespace

MountLookup look_up_mount(const std::string& path) {
    const std::vector<util::MountEntry> mounts = util::mounts();
    const std::string lexical = util::lexically_absolute(path);
    MountLookup found = match(lexical, mounts);
    // Inside or at an h5swmrfs mount as written: decided without resolving anything, since
    // resolving would look into the mount.
    if (found.kind != MountLookup::Kind::Other && found.kind != MountLookup::Kind::OtherMount) return found;
    const std::string resolved = with_resolved_directory(lexical);
    if (resolved != lexical) found = match(resolved, mounts);
    if (found.kind != MountLookup::Kind::Other) return found;
    struct stat st {};
    if (::stat(resolved.c_str(), &st) == 0 && S_ISDIR(st.st_mode)) found.kind = MountLookup::Kind::Directory;
    return found;
}

Answer ask_mount(const std::string& mount_point, std::chrono::milliseconds timeout) {
    int ends[2];
    if (::pipe2(ends, O_CLOEXEC) != 0) throw Error(errno, std::string("pipe: ") + std::strerror(errno));
    util::Fd reading(ends[0]), writing(ends[1]);
    const Clock::time_point started = Clock::now();
    const pid_t child = ::fork();
    if (child < 0) throw Error(errno, std::string("fork: ") + std::strerror(errno));
    if (child == 0) {
        // Off the caller's standard streams: a child a daemon never answers lives on, and a
        // pipe it kept open (`h5swmrfs-ctl status M | grep`) would never see its end.
        const int null = ::open("/dev/null", O_RDWR);
        if (null >= 0)
            for (int stream = 0; stream <= 2; ++stream) ::dup2(null, stream);
        struct statvfs st {};
        const int error = ::statvfs(mount_point.c_str(), &st) == 0 ? 0 : errno;
        const ssize_t ignored = ::write(writing.get(), &error, sizeof error);
        (void)ignored;
        ::_exit(0);
    }
    writing.reset();
    Answer answer;
    pollfd wait{reading.get(), POLLIN, 0};
    int ready;
    do {
        const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(started + timeout - Clock::now());
        ready = ::poll(&wait, 1, static_cast<int>(std::max<std::chrono::milliseconds::rep>(left.count(), 0)));
    } while (ready < 0 && errno == EINTR);
    int error = 0;
    if (ready > 0 && ::read(reading.get(), &error, sizeof error) == static_cast<ssize_t>(sizeof error)) {
        answer.seconds = std::chrono::duration<double>(Clock::now() - started).count();
        answer.state = error == 0 ? Answer::State::Answers : error == ENOTCONN ? Answer::State::Gone : Answer::State::Failed;
        answer.error = error;
        ::waitpid(child, nullptr, 0);
        return answer;
    }
    answer.seconds = std::chrono::duration<double>(Clock::now() - started).count();
    answer.state = Answer::State::Silent;
    // A request the daemon has not read yet is dropped with its killed sender; one it read
    // and never answers keeps the child until the daemon goes: it is not waited for long.
    ::kill(child, SIGKILL);
    for (int i = 0; i < 50 && ::waitpid(child, nullptr, WNOHANG) == 0; ++i)
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
    return answer;
}

void keep_mount_participants(MountStatus& status, lock::LockStatus all, const std::string& backend) {
    const std::string host = lock::host_name();
    const std::string& point = status.mount.mount_point;
    auto ours = [&](const lock::Participant& p) {
        if (backend == "local") return p.label.find(point) != std::string::npos;
        return p.label == point && p.host == host;
    };
    lock::LockStatus kept = all;
    kept.holders.clear();
    kept.waiting.clear();
    kept.drops.clear();
    for (const auto& p : all.holders) {
        if (ours(p)) kept.holders.push_back(p);
        else ++status.other_holders;
    }
    for (const auto& p : all.waiting) {
        if (ours(p)) kept.waiting.push_back(p);
        else ++status.other_waiting;
    }
    for (const auto& p : all.drops) {
        if (ours(p)) kept.drops.push_back(p);
        else ++status.other_drops;
    }
    status.lock = std::move(kept);
}

std::string mount_status_text(const MountStatus& status) {
    std::ostringstream out;
    const std::string& point = status.mount.mount_point;
    const double limit = std::chrono::duration<double>(status.timeout).count();
    out << "mount " << point << ": ";
    switch (status.answer.state) {
        case Answer::State::Answers: out << "answers (statfs in " << seconds_text(status.answer.seconds) << ")\n"; break;
        case Answer::State::Silent:
            out << "does not answer: no answer to statfs within " << seconds_text(limit)
                << " (the daemon is stopped or hung)\n";
            break;
        case Answer::State::Gone:
            out << "its daemon is gone (ENOTCONN); unmount it with fusermount3 -u " << point << "\n";
            break;
        case Answer::State::Failed:
            out << "statfs failed: " << std::strerror(status.answer.error) << " ("
                << errno_name(status.answer.error) << ")\n";
            break;
    }
    out << "file " << status.mount.source << "\n";
    if (!status.lock) {
        out << "lock: cannot be read: " << status.lock_error << "\n";
        return out.str();
    }
    const lock::LockStatus& lock = *status.lock;
    out << "lock " << lock.key << " (" << lock.backend;
    if (lock.where != lock.key) out << " at " << lock.where;
    out << "), generation " << lock.generation << ", fence " << lock.fence << "\n";
    out << "holds of this mount: " << lock.holders.size() << "\n" << participants_text(lock.holders);
    out << "waiting writers of this mount: " << lock.waiting.size() << "\n" << participants_text(lock.waiting);
    out << "drops of this mount pending: " << lock.drops.size() << "\n" << participants_text(lock.drops);
    out << "others: " << status.other_holders << " holding, " << status.other_waiting << " waiting, "
        << status.other_drops << " drops pending\n";
    return out.str();
}

std::string mount_status_json(const MountStatus& status) {
    std::ostringstream out;
    out << "{\"mount\":" << lock::json_quote(status.mount.mount_point)
        << ",\"file\":" << lock::json_quote(status.mount.source)
        << ",\"state\":" << lock::json_quote(state_name(status.answer.state))
        << ",\"answers\":" << (status.answer.state == Answer::State::Answers ? "true" : "false")
        << ",\"seconds\":" << status.answer.seconds << ",\"error\":"
        << (status.answer.error ? lock::json_quote(errno_name(status.answer.error)) : "null")
        << ",\"timeout_seconds\":" << std::chrono::duration<double>(status.timeout).count();
    if (status.lock) {
        const lock::LockStatus& lock = *status.lock;
        out << ",\"lock\":{\"backend\":" << lock::json_quote(lock.backend) << ",\"key\":" << lock::json_quote(lock.key)
            << ",\"where\":" << lock::json_quote(lock.where) << ",\"generation\":" << lock.generation
            << ",\"fence\":" << lock.fence << ",\"holders\":" << participants_json(lock.holders)
            << ",\"waiting\":" << participants_json(lock.waiting) << ",\"drops\":" << participants_json(lock.drops)
            << ",\"other_holders\":" << status.other_holders << ",\"other_waiting\":" << status.other_waiting
            << ",\"other_drops\":" << status.other_drops << "}";
    } else {
        out << ",\"lock\":null,\"lock_error\":" << lock::json_quote(status.lock_error);
    }
    out << "}\n";
    return out.str();
}

int mount_exit_status(const MountStatus& status) {
    switch (status.answer.state) {
        case Answer::State::Silent: return exit_no_answer;
        case Answer::State::Gone: return exit_daemon_gone;
        case Answer::State::Failed: return 1;
        case Answer::State::Answers: break;
    }
    return status.lock ? 0 : 69;
}

}  // namespace h5swmrfs::ctl
