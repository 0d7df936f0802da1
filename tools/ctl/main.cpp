// h5swmrfs-ctl: look at, break, or take an h5swmrfs lock from the shell.
#include "config.h"
#include "format.h"
#include "lock/admin.h"
#include "lock/lock.h"
#include "lock/password_file.h"
#include "mount_status.h"
#include "run.h"
#include "util/error.h"
#include "util/log.h"

#include <sys/stat.h>

#include <cmath>
#include <fstream>
#include <iomanip>
#include <iostream>
#include <optional>
#include <string>
#include <vector>

using namespace h5swmrfs;

namespace {

// Exit statuses of h5swmrfs-ctl itself (`run` otherwise exits with the command's status).
constexpr int exit_usage = 64;        // EX_USAGE
constexpr int exit_unavailable = 69;  // EX_UNAVAILABLE: redis unreachable, wrong password, I/O error
constexpr int exit_busy = 75;         // EX_TEMPFAIL: the lock stayed taken for --lock-timeout
constexpr int exit_error = 1;

const char* usage_text =
    "usage: h5swmrfs-ctl [OPTIONS] status KEY|FILE [--json]\n"
    "       h5swmrfs-ctl [OPTIONS] status MOUNTPOINT [--json]\n"
    "       h5swmrfs-ctl [OPTIONS] break KEY|FILE\n"
    "       h5swmrfs-ctl [OPTIONS] run --shared|--exclusive KEY|FILE -- CMD [ARGS...]\n"
    "\n"
    "break: for a lock whose holder is stuck or gone. Every hold is broken at once (its\n"
    "holder's next renewal fails, its operations fail), but nobody else is granted the lock\n"
    "before the broken holds' leases have run out by the redis server's clock, and a broken\n"
    "`run` stops its command and all it started before then: a broken writer never overlaps\n"
    "a new one. Waiting writers leave the queue. With --lock h5pyswmr, break deletes the\n"
    "seven keys of the file at once: use it only when their holders are gone.\n"
    "\n"
    "A FILE (an existing path) stands for its lock: its canonical absolute path as the\n"
    "redis key, or its sidecar FILE.h5swmrfs-lock with --lock local.\n"
    "\n"
    "status MOUNTPOINT: whether the h5swmrfs mount there answers (one statfs, given\n"
    "--timeout), the file it serves, and the holds and waits of that mount in its lock\n"
    "(the file's default key unless --lock-key says otherwise).\n"
    "\n"
    "options:\n"
    "  --redis URL                redis://[:PASSWORD@]HOST[:PORT][/DB] or unix:///PATH.sock[?db=N]\n"
    "                             (default $H5SWMRFS_REDIS, else redis://127.0.0.1:6379/0)\n"
    "  --redis-password-file F    read the redis password from F\n"
    "  --lock redis|local|h5pyswmr  lock backend (default redis); h5pyswmr: h5pySWMR's keys,\n"
    "                             KEY is the file name its programs pass\n"
    "  --lease SECONDS            lease of the hold taken by run (default 15)\n"
    "  --lock-timeout SECONDS     how long run waits for the lock (default 60)\n"
    "  --lock-key KEY             status MOUNTPOINT: the mount's lock key, if it was given one\n"
    "  --timeout SECONDS          status MOUNTPOINT: how long the mount has to answer (default 5)\n"
    "  --json                     status as JSON\n"
    "  -v, --verbose              log lock activity to stderr\n"
    "\n"
    "exit status: run exits with the command's status (128+N if killed by signal N);\n"
    "64 usage, 69 redis unreachable or refused, 75 lock still taken after --lock-timeout, 1 other.\n"
    "status MOUNTPOINT: 0 the mount answers and its lock could be read; 2 not the mount point\n"
    "of an h5swmrfs mount; 3 no answer within --timeout (daemon stopped or hung); 4 daemon\n"
    "gone (unmount with fusermount3 -u); 69 the mount answers but its lock cannot be read.\n";

int usage(const std::string& why) {
    if (!why.empty()) std::cerr << "h5swmrfs-ctl: " << why << "\n";
    std::cerr << usage_text;
    return exit_usage;
}

std::chrono::milliseconds seconds_option(const std::string& name, const std::string& text) {
    std::size_t used = 0;
    double s = -1;
    try {
        s = std::stod(text, &used);
    } catch (...) {
    }
    if (used != text.size() || !std::isfinite(s) || s < 0) throw Error(EINVAL, name + ": not a number of seconds: '" + text + "'");
    return std::chrono::milliseconds(static_cast<long long>(s * 1000));
}

// KEY|FILE -> the lock it names, for the chosen backend.
// Sets the lock key from KEY|FILE; returns the HDF5 file's path when the target names it.
std::string resolve_target(lock::Options& options, const std::string& target) {
    struct stat st {};
    const bool is_file = ::stat(target.c_str(), &st) == 0;
    constexpr std::string_view sidecar = ".h5swmrfs-lock";
    if (options.backend == "local") {
        if (!is_file) throw Error(ENOENT, target + ": no such file (--lock local needs the HDF5 file's path)");
        options.local_lock_file = target.ends_with(sidecar) ? lock::default_key(target) : lock::sidecar_path(target);
        options.key = options.local_lock_file;
        return options.local_lock_file.substr(0, options.local_lock_file.size() - sidecar.size());
    }
    options.key = is_file ? lock::default_key(target) : target;
    return is_file ? options.key : std::string();
}

// `status MOUNTPOINT`; `options.key` set when --lock-key named the mount's key.
int mount_status(lock::Options options, const util::MountEntry& mount, std::chrono::milliseconds timeout, bool json) {
    ctl::MountStatus status;
    status.mount = mount;
    status.timeout = timeout;
    status.answer = ctl::ask_mount(mount.mount_point, timeout);  // first: it forks, and nothing has threads yet
    try {
        if (options.key.empty() || options.backend == "local") resolve_target(options, mount.source);
        ctl::keep_mount_participants(status, lock::read_status(options), options.backend);
    } catch (const std::exception& e) {
        status.lock_error = e.what();
    }
    std::cout << (json ? ctl::mount_status_json(status) : ctl::mount_status_text(status));
    return ctl::mount_exit_status(status);
}

// Says why `lookup` of `target` is no mount point to give status; nullopt when it is one,
// or names a KEY or FILE.
std::optional<int> refuse_as_mount(const std::string& target, const ctl::MountLookup& lookup) {
    using Kind = ctl::MountLookup::Kind;
    switch (lookup.kind) {
        case Kind::Mount:
        case Kind::Other: return std::nullopt;
        case Kind::Inside:
            std::cerr << "h5swmrfs-ctl: " << target << " is inside the h5swmrfs mount " << lookup.mount.mount_point
                      << "; give its mount point\n";
            break;
        case Kind::OtherMount:
            std::cerr << "h5swmrfs-ctl: " << target << " is the mount point of a " << lookup.mount.type
                      << " mount, not of h5swmrfs\n";
            break;
        case Kind::Directory:
            std::cerr << "h5swmrfs-ctl: " << target << " is a directory, not the mount point of an h5swmrfs mount\n";
            break;
    }
    return ctl::exit_not_a_mount;
}

}  // namespace

int main(int argc, char** argv) {
    ctl::block_forwarded_signals();
    lock::Options options;
    options.keep_idle = std::chrono::milliseconds(0);
    std::string command, target, password_file, lock_key;
    std::chrono::milliseconds answer_timeout{5000};
    bool json = false;
    int run_mode = 0;  // 1 shared, 2 exclusive
    std::vector<std::string> run_command;
    try {
        std::vector<std::string> args(argv + 1, argv + argc);
        for (std::size_t i = 0; i < args.size(); ++i) {
            const std::string& a = args[i];
            auto value = [&]() -> std::string {
                if (i + 1 >= args.size()) throw Error(EINVAL, a + " needs a value");
                return args[++i];
            };
            if (a == "--") {
                run_command.assign(args.begin() + static_cast<long>(i) + 1, args.end());
                break;
            }
            if (a == "--help" || a == "-h") {
                std::cout << usage_text;
                return 0;
            }
            if (a == "--version") {
                std::cout << "h5swmrfs-ctl " << H5SWMRFS_VERSION << "\n";
                return 0;
            }
            if (a == "--redis") options.redis_url = value();
            else if (a == "--redis-password-file") password_file = value();
            else if (a == "--lock") options.backend = value();
            else if (a == "--lease") options.lease = seconds_option(a, value());
            else if (a == "--lock-timeout") options.timeout = seconds_option(a, value());
            else if (a == "--lock-key") lock_key = value();
            else if (a == "--timeout") answer_timeout = seconds_option(a, value());
            else if (a == "--json") json = true;
            else if (a == "--shared") run_mode = 1;
            else if (a == "--exclusive") run_mode = 2;
            else if (a == "-v" || a == "--verbose") log::set_level(log::Level::Debug);
            else if (a.starts_with("-")) return usage("unknown option " + a);
            else if (command.empty()) command = a;
            else if (target.empty()) target = a;
            else return usage("unexpected argument " + a);
        }
        if (command.empty()) return usage("");
        if (command != "status" && command != "break" && command != "run") return usage("unknown command " + command);
        if (target.empty()) return usage(command + " needs KEY or FILE");
        if (options.backend != "redis" && options.backend != "local" && options.backend != "h5pyswmr")
            return usage("--lock " + options.backend + " is not supported here (redis, local or h5pyswmr)");
        if (!password_file.empty()) options.redis_password = lock::read_password_file(password_file);
        if (command == "status") {
            // Before anything looks at the path: a mount whose daemon is stopped would hang it.
            const ctl::MountLookup lookup = ctl::look_up_mount(target);
            if (lookup.kind == ctl::MountLookup::Kind::Mount) {
                options.key = lock_key;
                return mount_status(options, lookup.mount, answer_timeout, json);
            }
            if (auto refused = refuse_as_mount(target, lookup)) return *refused;
        }
        const std::string file = resolve_target(options, target);
        options.data_file = file;

        if (command == "status") {
            lock::LockStatus status = lock::read_status(options);
            std::cout << (json ? ctl::status_json(status) : ctl::status_text(status));
            return 0;
        }
        if (command == "break") {
            const lock::BreakResult broke = lock::break_lock(options);
            if (options.backend == "h5pyswmr") {
                std::cout << "broke lock " << options.key << ": deleted " << broke.keys_deleted
                          << " of its 7 keys (mutex1-3, r, w, readcount, writecount); holders still alive lose "
                             "their holds\n";
                return 0;
            }
            std::cout << "broke lock " << options.key << ": " << broke.holds << " hold" << (broke.holds == 1 ? "" : "s")
                      << " broken, " << broke.waiting << " waiting writer" << (broke.waiting == 1 ? "" : "s") << " removed";
            if (broke.holds) std::cout << "; free for others in " << std::fixed << std::setprecision(1) << broke.free_in_seconds << " s, when the broken leases end";
            std::cout << "\n";
            return 0;
        }
        if (run_mode == 0) return usage("run needs --shared or --exclusive");
        if (run_command.empty()) return usage("run needs -- CMD [ARGS...]");
        options.holder_label = "h5swmrfs-ctl run " + run_command[0];
        return ctl::run_locked(options, run_mode == 1 ? lock::Mode::Shared : lock::Mode::Exclusive, run_command, file);
    } catch (const Error& e) {
        std::cerr << "h5swmrfs-ctl: " << e.what() << "\n";
        if (e.code() == EBUSY) return exit_busy;
        if (e.code() == EIO) return exit_unavailable;
        if (e.code() == EINVAL) return exit_usage;
        return exit_error;
    } catch (const std::exception& e) {
        std::cerr << "h5swmrfs-ctl: " << e.what() << "\n";
        return exit_error;
    }
}
