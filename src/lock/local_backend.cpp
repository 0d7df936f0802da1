// The local backend: kernel open-file-description locks (F_OFD_SETLKW) on a sidecar file
// coordinate every mount on this host. A killed process's locks go with its descriptors.
//
// Sidecar layout (docs/LOCKING.md, local_layout.h):
//   data  bytes 0-7 generation, 8-15 fence, 16-23 writer-waiting counter (u64, host order)
//   locks byte 64 turnstile, byte 65 the readers-writer byte, byte 66 counter guard,
//         from byte 4096 the drop bytes (a block of drop_slots per generation)
// Readers pass the turnstile (exclusive, for an instant) and take the rw byte shared.
// Writers hold the turnstile while they wait for the rw byte exclusive, so readers that
// come later queue behind them: writer preference.
// A drop is the released shared hold's descriptor kept open with a write lock on a free byte
// of its generation's block; a writer waits for older drops with a read lock on the blocks
// below its generation. A killed process's drops go with its descriptors.
#include "lock/backend.h"
#include "lock/local_layout.h"
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

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstring>
#include <map>
#include <mutex>
#include <optional>
#include <vector>
#include <thread>
#include <utility>

namespace h5swmrfs::lock {
namespace {

using namespace local_layout;

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

// `length` 0: to the end of every possible file.
struct flock byte_lock(short type, off_t byte, off_t length = 1) {
    struct flock fl {};
    fl.l_type = type;
    fl.l_whence = SEEK_SET;
    fl.l_start = byte;
    fl.l_len = length;
    return fl;
}

bool try_lock(int fd, short type, off_t byte, off_t length = 1) {
    struct flock fl = byte_lock(type, byte, length);
    if (fcntl(fd, F_OFD_SETLK, &fl) == 0) return true;
    if (errno == EAGAIN || errno == EACCES) return false;
    fail(errno, "fcntl(F_OFD_SETLK)");
}

// Waits for the lock until `deadline`; false when it passed.
bool lock_until(int fd, short type, off_t byte, Clock::time_point deadline, off_t length = 1) {
    if (try_lock(fd, type, byte, length)) return true;
    WakeTimer timer(deadline);
    for (;;) {
        struct flock fl = byte_lock(type, byte, length);
        if (fcntl(fd, F_OFD_SETLKW, &fl) == 0) return true;
        if (errno != EINTR) fail(errno, "fcntl(F_OFD_SETLKW)");
        if (Clock::now() >= deadline) return false;
    }
}

void unlock(int fd, off_t byte, off_t length = 1) {
    struct flock fl = byte_lock(F_UNLCK, byte, length);
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

// This process's drops: the descriptors that hold their drop bytes, until dropped(id).
class Drops {
public:
    std::uint64_t new_id() noexcept { return next_id_++; }
    void add(std::uint64_t id, Fd fd, off_t byte) {
        std::lock_guard lock(mutex_);
        pending_.emplace(id, Pending{std::move(fd), byte});
    }
    void remove(std::uint64_t id) noexcept {
        Fd closed;  // closed after the mutex is let go
        std::lock_guard lock(mutex_);
        auto it = pending_.find(id);
        if (it == pending_.end()) return;
        closed = std::move(it->second.fd);
        pending_.erase(it);
    }
    std::vector<off_t> bytes() {
        std::lock_guard lock(mutex_);
        std::vector<off_t> out;
        for (const auto& [id, pending] : pending_) out.push_back(pending.byte);
        return out;
    }

private:
    struct Pending {
        Fd fd;
        off_t byte;
    };
    std::atomic<std::uint64_t> next_id_{1};
    std::mutex mutex_;
    std::map<std::uint64_t, Pending> pending_;
};

// Write-locks a free byte of `generation`'s block through `fd`; nullopt when none is free.
std::optional<off_t> take_drop_byte(int fd, std::uint64_t generation) {
    if (generation > last_drop_generation) return std::nullopt;
    const off_t block = drop_generation_start(generation);
    // Processes start at different bytes, so the first try is nearly always free.
    const off_t first = static_cast<off_t>(static_cast<std::uint64_t>(getpid()) * 2654435761u % drop_slots);
    for (off_t i = 0; i < drop_slots; ++i) {
        const off_t byte = block + (first + i) % drop_slots;
        if (try_lock(fd, F_WRLCK, byte)) return byte;
    }
    return std::nullopt;
}

class LocalHold : public BackendHold {
public:
    LocalHold(Fd fd, Mode mode, Counters counters, std::shared_ptr<Drops> drops)
        : fd_(std::move(fd)), mode_(mode), counters_(counters), drops_(std::move(drops)) {}
    // Closing the descriptor drops every lock on it.
    Mode mode() const noexcept override { return mode_; }
    std::uint64_t generation() const noexcept override { return counters_.generation; }
    std::uint64_t fence() const noexcept override { return counters_.fence; }
    // Kernel locks have no lease: ours until we close the descriptor or the process dies.
    void check_valid() const override {}
    // The drop byte is taken before the rw byte goes: no writer of a later generation can
    // get in between without seeing the drop.
    Drop release_as_drop() noexcept override {
        const Drop drop{drops_->new_id(), counters_.generation};
        if (!fd_ || mode_ != Mode::Shared) {
            fd_.reset();
            return drop;
        }
        try {
            if (std::optional<off_t> byte = take_drop_byte(fd_.get(), counters_.generation)) {
                unlock(fd_.get(), rw_byte);
                drops_->add(drop.id, std::move(fd_), *byte);
                return drop;
            }
            log::warning("lock file: no free drop byte for generation ", counters_.generation, "; released plainly");
        } catch (const std::exception& e) {
            log::warning("lock file: recording a drop failed; released plainly: ", e.what());
        }
        fd_.reset();
        return drop;
    }

private:
    Fd fd_;
    Mode mode_;
    Counters counters_;
    std::shared_ptr<Drops> drops_;
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
            return std::make_unique<LocalHold>(std::move(fd), mode, counters, drops_);
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
        return std::make_unique<LocalHold>(std::move(fd), mode, counters, drops_);
    }

    void check_reachable() override { open_sidecar(); }

    std::uint64_t current_generation() override {
        Fd fd = open_sidecar();
        if (!lock_until(fd.get(), F_RDLCK, counter_guard_byte, Clock::now() + options_.timeout)) throw busy();
        return read_counters(fd.get(), path_).generation;
    }

    void on_writer_waiting(std::function<void()> handler) override { writer_waiting_ = std::move(handler); }
    // Kernel locks have no lease to be in doubt about.
    void on_lease_in_doubt(std::function<void()>) override {}
    void dropped(std::uint64_t id) noexcept override { drops_->remove(id); }

    // A read lock on the drop blocks of the generations below `generation` is granted once
    // no drop byte there is write-locked; drops of those generations cannot begin any more
    // (their shared holds ended before the writer's exclusive one began). Our own drop
    // bytes are left out of the ranges when `others_only`. Without leases, a stopped process
    // holds the wait up until the deadline.
    bool wait_for_drops(std::uint64_t generation, bool others_only, Clock::time_point deadline) noexcept override {
        if (generation == 0) return true;
        try {
            Fd fd = open_sidecar();
            const off_t end = generation > last_drop_generation + 1 ? 0 : drop_generation_start(generation);
            std::vector<off_t> skip;
            if (others_only) skip = drops_->bytes();
            std::sort(skip.begin(), skip.end());
            off_t from = drop_region;
            auto wait_range = [&](off_t to) {  // to 0: to the end
                if (to != 0 && to <= from) return true;
                const off_t length = to == 0 ? 0 : to - from;
                if (!lock_until(fd.get(), F_RDLCK, from, deadline, length)) return false;
                unlock(fd.get(), from, length);
                return true;
            };
            for (off_t byte : skip) {
                if (end != 0 && byte >= end) break;
                if (!wait_range(byte)) return false;
                from = byte + 1;
            }
            return wait_range(end);
        } catch (const std::exception& e) {
            log::warning("lock file ", path_, ": waiting for drops failed: ", e.what());
            return false;
        }
    }

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
    const std::shared_ptr<Drops> drops_ = std::make_shared<Drops>();
    std::once_flag watcher_started_;
    Fd stop_;
    std::thread watcher_;
};

}  // namespace

std::unique_ptr<Backend> make_local_backend(const Options& options) {
    return std::make_unique<LocalBackend>(options);
}

}  // namespace h5swmrfs::lock
