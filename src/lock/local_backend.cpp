// The local backend: kernel open-file-description locks (F_OFD_SETLKW) on a sidecar file
// coordinate every mount on this host. A killed process's locks go with its descriptors.
//
// Sidecar layout (docs/LOCKING.md):
//   data  bytes 0-7 generation, 8-15 fence, 16-23 writer-waiting counter (u64, host order)
//   locks byte 64 turnstile, byte 65 the readers-writer byte, byte 66 counter guard
// Readers pass the turnstile (exclusive, for an instant) and take the rw byte shared.
// Writers hold the turnstile while they wait for the rw byte exclusive, so readers that
// come later queue behind them: writer preference.
#include "lock/backend.h"
#include "util/error.h"
#include "util/fd.h"
#include "util/log.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/eventfd.h>
#include <sys/inotify.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <mutex>
#include <thread>
#include <utility>

namespace h5swmrfs::lock {
namespace {

constexpr off_t generation_offset = 0;
constexpr off_t writer_waiting_offset = 16;
constexpr off_t turnstile_byte = 64;
constexpr off_t rw_byte = 65;
constexpr off_t counter_guard_byte = 66;

[[noreturn]] void fail(int err, const std::string& what) { throw Error(err, what + ": " + std::strerror(err)); }

// The signal that cuts a blocked F_OFD_SETLKW short at its deadline. Its handler does
// nothing; it exists so the wait returns EINTR.
int wake_signal() {
    static const int signo = [] {
        const int s = SIGRTMIN + 3;
        struct sigaction action {};
        action.sa_handler = [](int) {};
        sigemptyset(&action.sa_mask);
        action.sa_flags = 0;  // no SA_RESTART: the lock wait must return EINTR
        sigaction(s, &action, nullptr);
        return s;
    }();
    return signo;
}

// Sends wake_signal() to the calling thread at `deadline`, then every 10 ms (in case the
// first one landed just before the thread blocked) until destroyed.
class WakeTimer {
public:
    explicit WakeTimer(Clock::time_point deadline) {
        sigevent event{};
        event.sigev_notify = SIGEV_THREAD_ID;
        event.sigev_signo = wake_signal();
        event._sigev_un._tid = static_cast<pid_t>(syscall(SYS_gettid));
        if (timer_create(CLOCK_MONOTONIC, &event, &timer_) != 0) fail(errno, "timer_create");
        auto left = std::chrono::duration_cast<std::chrono::nanoseconds>(deadline - Clock::now());
        if (left.count() < 1) left = std::chrono::nanoseconds(1);
        itimerspec spec{};
        spec.it_value.tv_sec = static_cast<time_t>(left.count() / 1000000000);
        spec.it_value.tv_nsec = static_cast<long>(left.count() % 1000000000);
        spec.it_interval.tv_nsec = 10 * 1000 * 1000;
        if (timer_settime(timer_, 0, &spec, nullptr) != 0) {
            int err = errno;
            timer_delete(timer_);
            fail(err, "timer_settime");
        }
    }
    ~WakeTimer() { timer_delete(timer_); }
    WakeTimer(const WakeTimer&) = delete;
    WakeTimer& operator=(const WakeTimer&) = delete;

private:
    timer_t timer_{};
};

struct flock byte_lock(short type, off_t byte) {
    struct flock fl {};
    fl.l_type = type;
    fl.l_whence = SEEK_SET;
    fl.l_start = byte;
    fl.l_len = 1;
    return fl;
}

bool try_lock(int fd, short type, off_t byte) {
    struct flock fl = byte_lock(type, byte);
    if (fcntl(fd, F_OFD_SETLK, &fl) == 0) return true;
    if (errno == EAGAIN || errno == EACCES) return false;
    fail(errno, "fcntl(F_OFD_SETLK)");
}

// Waits for the lock until `deadline`; false when it passed.
bool lock_until(int fd, short type, off_t byte, Clock::time_point deadline) {
    if (try_lock(fd, type, byte)) return true;
    WakeTimer timer(deadline);
    for (;;) {
        struct flock fl = byte_lock(type, byte);
        if (fcntl(fd, F_OFD_SETLKW, &fl) == 0) return true;
        if (errno != EINTR) fail(errno, "fcntl(F_OFD_SETLKW)");
        if (Clock::now() >= deadline) return false;
    }
}

void unlock(int fd, off_t byte) {
    struct flock fl = byte_lock(F_UNLCK, byte);
    if (fcntl(fd, F_OFD_SETLK, &fl) != 0) fail(errno, "fcntl(F_UNLCK)");
}

using util::Fd;

struct Counters {
    std::uint64_t generation = 0, fence = 0;
};

Counters read_counters(int fd, const std::string& path) {
    std::uint64_t values[2] = {0, 0};
    ssize_t n = pread(fd, values, sizeof values, generation_offset);
    if (n < 0) fail(errno, "reading " + path);
    if (n != static_cast<ssize_t>(sizeof values)) return {};  // a new sidecar
    return {values[0], values[1]};
}

class LocalHold : public BackendHold {
public:
    LocalHold(Fd fd, Mode mode, Counters counters) : fd_(std::move(fd)), mode_(mode), counters_(counters) {}
    // Closing the descriptor drops every lock on it.
    Mode mode() const noexcept override { return mode_; }
    std::uint64_t generation() const noexcept override { return counters_.generation; }
    std::uint64_t fence() const noexcept override { return counters_.fence; }
    // Kernel locks have no lease: ours until we close the descriptor or the process dies.
    void check_valid() const override {}

private:
    Fd fd_;
    Mode mode_;
    Counters counters_;
};

class LocalBackend : public Backend {
public:
    explicit LocalBackend(const Options& options) : options_(options), path_(options.local_lock_file) {}

    ~LocalBackend() override {
        if (watcher_.joinable()) {
            std::uint64_t one = 1;
            ssize_t ignored = ::write(stop_.get(), &one, sizeof one);
            (void)ignored;
            watcher_.join();
        }
    }

    std::unique_ptr<BackendHold> acquire(Mode mode, Clock::time_point deadline) override {
        start_watcher_once();
        Fd fd = open_sidecar();
        if (mode == Mode::Shared) {
            if (!lock_until(fd.get(), F_WRLCK, turnstile_byte, deadline) ||
                !lock_until(fd.get(), F_RDLCK, rw_byte, deadline))
                throw busy();
            unlock(fd.get(), turnstile_byte);
            Counters counters = read_counters(fd.get(), path_);
            return std::make_unique<LocalHold>(std::move(fd), mode, counters);
        }
        if (!lock_until(fd.get(), F_WRLCK, turnstile_byte, deadline)) throw busy();
        if (!try_lock(fd.get(), F_WRLCK, rw_byte)) {
            poke_waiting(fd.get());  // mounts keeping an idle shared hold give it up
            if (!lock_until(fd.get(), F_WRLCK, rw_byte, deadline)) throw busy();
        }
        unlock(fd.get(), turnstile_byte);
        if (!lock_until(fd.get(), F_WRLCK, counter_guard_byte, deadline)) throw busy();
        Counters counters = read_counters(fd.get(), path_);
        ++counters.generation;
        ++counters.fence;
        std::uint64_t values[2] = {counters.generation, counters.fence};
        if (pwrite(fd.get(), values, sizeof values, generation_offset) != static_cast<ssize_t>(sizeof values))
            fail(errno, "writing the generation to " + path_);
        unlock(fd.get(), counter_guard_byte);
        return std::make_unique<LocalHold>(std::move(fd), mode, counters);
    }

    void check_reachable() override { open_sidecar(); }

    std::uint64_t current_generation() override {
        Fd fd = open_sidecar();
        if (!lock_until(fd.get(), F_RDLCK, counter_guard_byte, Clock::now() + options_.timeout)) throw busy();
        return read_counters(fd.get(), path_).generation;
    }

    void on_writer_waiting(std::function<void()> handler) override { writer_waiting_ = std::move(handler); }

private:
    Error busy() const {
        return Error(EBUSY, "local lock " + path_ + " still taken after " +
                                std::to_string(options_.timeout.count() / 1000.0).substr(0, 5) + " s");
    }

    Fd open_sidecar() const {
        int fd = ::open(path_.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0666);
        if (fd < 0) fail(errno, "cannot open lock file " + path_);
        return Fd(fd);
    }

    void poke_waiting(int fd) {
        std::uint64_t count = 0;
        if (pread(fd, &count, sizeof count, writer_waiting_offset) != static_cast<ssize_t>(sizeof count)) count = 0;
        ++count;
        if (pwrite(fd, &count, sizeof count, writer_waiting_offset) != static_cast<ssize_t>(sizeof count))
            log::warning("cannot signal a waiting writer in ", path_, ": ", std::strerror(errno));
    }

    // Watches the sidecar for a writer's poke (inotify IN_MODIFY) and tells the process layer.
    void start_watcher_once() {
        std::call_once(watcher_started_, [&] {
            if (!writer_waiting_) return;
            open_sidecar();  // exists before we watch it
            Fd inotify(inotify_init1(IN_CLOEXEC | IN_NONBLOCK));
            if (inotify.get() < 0) fail(errno, "inotify_init1");
            if (inotify_add_watch(inotify.get(), path_.c_str(), IN_MODIFY) < 0) fail(errno, "inotify_add_watch " + path_);
            Fd stop(eventfd(0, EFD_CLOEXEC));
            if (stop.get() < 0) fail(errno, "eventfd");
            stop_ = std::move(stop);
            watcher_ = std::thread([this, inotify = std::move(inotify)]() mutable { watch(inotify.get()); });
        });
    }

    void watch(int inotify) {
        pollfd fds[2] = {{inotify, POLLIN, 0}, {stop_.get(), POLLIN, 0}};
        alignas(inotify_event) char buffer[4096];
        for (;;) {
            if (poll(fds, 2, -1) < 0) {
                if (errno == EINTR) continue;
                log::error("lock file watcher: poll: ", std::strerror(errno));
                return;
            }
            if (fds[1].revents) return;
            ssize_t n = ::read(inotify, buffer, sizeof buffer);
            if (n > 0 && writer_waiting_) writer_waiting_();
        }
    }

    const Options options_;
    const std::string path_;
    std::function<void()> writer_waiting_;
    std::once_flag watcher_started_;
    Fd stop_;
    std::thread watcher_;
};

}  // namespace

std::unique_ptr<Backend> make_local_backend(const Options& options) {
    return std::make_unique<LocalBackend>(options);
}

}  // namespace h5swmrfs::lock
