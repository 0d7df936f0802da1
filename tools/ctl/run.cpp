#include "run.h"

#include "h5/redo.h"
#include "util/error.h"
#include "util/proc.h"

#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <exception>
#include <iostream>
#include <map>
#include <thread>
#include <vector>

namespace h5swmrfs::ctl {
namespace {

constexpr int forwarded[] = {SIGHUP, SIGINT, SIGQUIT, SIGTERM, SIGUSR1, SIGUSR2, SIGWINCH};

sigset_t waited_signals() {
    sigset_t set;
    sigemptyset(&set);
    for (int s : forwarded) sigaddset(&set, s);
    sigaddset(&set, SIGCHLD);
    return set;
}

// The forwarded signals stay blocked (the lock's threads must never take them), so a
// Ctrl-C or kill while the lock is awaited is read here: the command is not started
// and h5swmrfs-ctl ends as the signal would have ended it. A waiting writer left behind
// in the lock is forgotten when its lease runs out, as if this process had died.
std::unique_ptr<lock::Hold> acquire_interruptibly(lock::Lock& lock, lock::Mode mode, const std::string& file) {
    const int granted_signal = SIGRTMIN + 4;  // the waiter's word that acquire returned
    sigset_t wake;
    sigemptyset(&wake);
    for (int s : {SIGHUP, SIGINT, SIGQUIT, SIGTERM, granted_signal}) sigaddset(&wake, s);
    pthread_sigmask(SIG_BLOCK, &wake, nullptr);

    std::unique_ptr<lock::Hold> hold;
    std::exception_ptr failure;
    const pthread_t main_thread = pthread_self();
    std::thread waiter([&] {
        try {
            // The command must not meet a commit a writer left unfinished.
            lock::Repair unfinished_commit;
            if (!file.empty()) {
                unfinished_commit.pending = [&] { return h5::recovery_pending(file); };
                unfinished_commit.repair = [&] { h5::recover(file); };
            }
            hold = lock::acquire_repaired(lock, mode, unfinished_commit);
        } catch (...) {
            failure = std::current_exception();
        }
        pthread_kill(main_thread, granted_signal);
    });
    int s = 0;
    while (sigwait(&wake, &s) != 0 || s != granted_signal) {
        if (s == SIGHUP || s == SIGINT || s == SIGQUIT || s == SIGTERM) {
            std::cerr << "h5swmrfs-ctl: " << strsignal(s) << " while waiting for the lock; command not run"
                      << std::endl;
            _exit(128 + s);
        }
    }
    waiter.join();
    if (failure) std::rethrow_exception(failure);
    return hold;
}

// Every process below this one (the command, what it started, and — this process being a
// subreaper — what they left behind when they exited).
std::vector<pid_t> descendants() {
    std::multimap<pid_t, pid_t> children;
    for (pid_t pid : util::all_processes())
        if (pid_t parent = util::parent_of(pid)) children.emplace(parent, pid);
    std::vector<pid_t> found{::getpid()};
    for (std::size_t i = 0; i < found.size(); ++i) {
        auto [first, last] = children.equal_range(found[i]);
        for (auto it = first; it != last; ++it) found.push_back(it->second);
    }
    found.erase(found.begin());
    return found;
}

void signal_descendants(int sig) {
    for (pid_t pid : descendants()) ::kill(pid, sig);
}

}  // namespace

void block_forwarded_signals() {
    sigset_t set = waited_signals();
    pthread_sigmask(SIG_BLOCK, &set, nullptr);
}

int run_locked(const lock::Options& options, lock::Mode mode, const std::vector<std::string>& command,
               const std::string& file) {
    auto lock = lock::make_lock(options);
    auto hold = acquire_interruptibly(*lock, mode, file);
    // What the command starts stays below this process even when its parent exits, so a
    // lost hold stops all of it.
    ::prctl(PR_SET_CHILD_SUBREAPER, 1);

    sigset_t waited = waited_signals();
    sigset_t original;
    pthread_sigmask(SIG_SETMASK, nullptr, &original);
    for (int s : forwarded) sigdelset(&original, s);
    sigdelset(&original, SIGCHLD);

    pid_t child = fork();
    if (child < 0) throw Error(errno, std::string("fork: ") + std::strerror(errno));
    if (child == 0) {
        pthread_sigmask(SIG_SETMASK, &original, nullptr);
        std::vector<char*> argv;
        for (const auto& a : command) argv.push_back(const_cast<char*>(a.c_str()));
        argv.push_back(nullptr);
        execvp(argv[0], argv.data());
        int err = errno;
        std::string message = "h5swmrfs-ctl: " + command[0] + ": " + std::strerror(err) + "\n";
        ssize_t ignored = ::write(STDERR_FILENO, message.data(), message.size());
        (void)ignored;
        _exit(err == ENOENT ? 127 : 126);
    }

    // Wake at least every lease/10 to see that the hold is still ours: a hold is trusted
    // for 4/5 of its lease, so the command is stopped before the server's fifth runs out.
    const auto check_every = std::max<std::chrono::milliseconds>(options.lease / 10, std::chrono::milliseconds(20));
    timespec period{static_cast<time_t>(check_every.count() / 1000), static_cast<long>(check_every.count() % 1000) * 1000000};
    bool lost = false, killed = false;
    std::chrono::steady_clock::time_point lost_at;
    // A broken or expired hold is trusted no longer, but the server keeps it for at least
    // a fifth of the lease: everything below is stopped well within that.
    const auto grace = std::max<std::chrono::milliseconds>(options.lease / 20, std::chrono::milliseconds(20));
    int status = 0;
    for (bool done = false; !done;) {
        int st = 0;
        for (pid_t pid; (pid = waitpid(-1, &st, WNOHANG)) > 0;)
            if (pid == child) status = st, done = true;
        if (lost && !killed && std::chrono::steady_clock::now() - lost_at >= grace) {
            signal_descendants(SIGKILL);
            killed = true;
        }
        if (done) break;
        siginfo_t info{};
        int s = sigtimedwait(&waited, &info, &period);
        if (s > 0 && s != SIGCHLD && info.si_code <= 0) {
            // Sent by a process (kill, a supervisor). A terminal's signals reach the
            // command directly: it is in our process group.
            kill(child, s);
        }
        if (!lost) {
            try {
                hold->check_valid();
            } catch (const std::exception& e) {
                lost = true;
                lost_at = std::chrono::steady_clock::now();
                std::cerr << "h5swmrfs-ctl: " << e.what() << "; stopping the command and all it started\n";
                signal_descendants(SIGTERM);
                const auto step = std::chrono::duration_cast<std::chrono::nanoseconds>(grace);
                period = timespec{static_cast<time_t>(step.count() / 1000000000), static_cast<long>(step.count() % 1000000000)};
            }
        }
    }
    if (lost && !killed) signal_descendants(SIGKILL);  // what the command left running
    while (waitpid(-1, nullptr, WNOHANG) > 0) {
    }
    const std::uint64_t generation = hold->generation();
    hold.reset();
    // The change is done when every mount that cached the file as it was has dropped that
    // cache, which it can only do once we let go (docs/LOCKING.md, "Cache drops").
    if (mode == lock::Mode::Exclusive) lock->wait_for_drops(generation, false);
    int code = WIFEXITED(status) ? WEXITSTATUS(status) : WIFSIGNALED(status) ? 128 + WTERMSIG(status) : 1;
    if (lost && code == 0) code = 1;
    return code;
}

}  // namespace h5swmrfs::ctl
