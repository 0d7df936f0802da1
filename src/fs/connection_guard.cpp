#include "fs/connection_guard.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>
#include <exception>

#include "util/error.h"
#include "util/fuse_connection.h"
#include "util/log.h"

namespace h5swmrfs::fs {
namespace {

// How long a daemon whose main thread ended may take to end: a process that is only
// exiting closes its descriptors within milliseconds.
constexpr std::chrono::seconds kGrace{2};

volatile sig_atomic_t daemon_died = 0;
void note_death(int) { daemon_died = 1; }

// What the guard process does; never returns.
[[noreturn]] void guard(int from_daemon, pid_t daemon, dev_t device, const std::string& mountpoint) {
    for (int signal : {SIGTERM, SIGINT, SIGHUP, SIGPIPE}) ::signal(signal, SIG_IGN);  // it must outlive the daemon
    struct sigaction action{};
    action.sa_handler = note_death;
    ::sigaction(SIGUSR1, &action, nullptr);
    sigset_t usr1, during_poll;
    sigemptyset(&usr1);
    sigaddset(&usr1, SIGUSR1);
    ::sigprocmask(SIG_BLOCK, &usr1, &during_poll);
    sigdelset(&during_poll, SIGUSR1);
    ::prctl(PR_SET_NAME, "h5swmrfs-guard");  // told apart from the daemon in ps, top, pgrep
    ::prctl(PR_SET_PDEATHSIG, SIGUSR1);
    if (::getppid() != daemon) daemon_died = 1;  // it ended before the line above
    // Nothing of the daemon's but the pipe (and the log) stays open here: above all not
    // its /dev/fuse descriptor, which would keep the connection alive.
    ::close_range(3, from_daemon - 1, 0);
    ::close_range(from_daemon + 1, ~0U, 0);

    pollfd pipe{from_daemon, POLLIN, 0};
    // Until the daemon says goodbye or its main thread ends.
    while (!daemon_died) {
        if (::ppoll(&pipe, 1, nullptr, &during_poll) > 0) ::_exit(0);  // "bye", or every descriptor closed
    }
    // Its main thread ended without a word: the process should follow at once. (Each of
    // its threads that ends hands the guard on to another one, with another signal.)
    const auto until = std::chrono::steady_clock::now() + kGrace;
    for (auto now = std::chrono::steady_clock::now(); now < until; now = std::chrono::steady_clock::now()) {
        const auto left = std::chrono::duration_cast<std::chrono::nanoseconds>(until - now).count();
        const timespec wait{static_cast<time_t>(left / 1000000000), static_cast<long>(left % 1000000000)};
        if (::ppoll(&pipe, 1, &wait, &during_poll) > 0) ::_exit(0);  // it did: the pipe's end closed
    }
    try {
        util::abort_fuse_connection(device);
        log::warning("h5swmrfs (pid ", daemon, ") ended without ending all its threads (a thread waits in the kernel "
                     "for its own mount); aborted the FUSE connection of ", mountpoint);
    } catch (const std::exception& e) {
        log::error("h5swmrfs (pid ", daemon, ") ended without ending all its threads; cannot abort the FUSE "
                   "connection of ", mountpoint, ": ", e.what(), " (abort it by hand: echo 1 > ",
                   util::fuse_abort_path(device), ")");
    }
    ::_exit(0);
}

}  // namespace

ConnectionGuard::ConnectionGuard(dev_t device, std::string mountpoint) {
    int fds[2];
    if (::pipe2(fds, O_CLOEXEC) != 0) throw Error(errno, "cannot make the pipe of the connection guard");
    const pid_t daemon = ::getpid();
    pid_ = ::fork();
    if (pid_ < 0) {
        const int error = errno;
        ::close(fds[0]);
        ::close(fds[1]);
        throw Error(error, "cannot start the connection guard");
    }
    if (pid_ == 0) {
        ::close(fds[1]);
        guard(fds[0], daemon, device, mountpoint);
    }
    ::close(fds[0]);
    to_guard_ = fds[1];
}

ConnectionGuard::~ConnectionGuard() {
    if (::write(to_guard_, "bye", 3) < 0) log::warning("cannot tell the connection guard goodbye: ", std::strerror(errno));
    ::close(to_guard_);
    while (::waitpid(pid_, nullptr, 0) < 0 && errno == EINTR) {
    }
}

}  // namespace h5swmrfs::fs
