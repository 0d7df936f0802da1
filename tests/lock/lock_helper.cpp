// A test process that takes the lock and logs what it does, one line per event:
//   <CLOCK_MONOTONIC ns> <pid> <tag> <EVENT> <S|X> <generation>
// EVENT: WAIT (asking), ENTER (granted), WRITE (check_valid passed, "doing work"),
// EXIT (last check passed, about to release), REFUSED (check_valid threw), FAIL (acquire threw);
// with --cache: DROP (a shared hold was released as a drop; extra: its id), DROPPED (reported);
// with --wait-drops: WAITED (a writer's wait for older drops returned).
// Exit status: 0 ok, 3 refused, 4 EBUSY, 5 EIO, 2 usage, 1 other error.
#include "lock/lock.h"
#include "util/error.h"
#include "util/log.h"

#include <fcntl.h>
#include <signal.h>
#include <time.h>
#include <unistd.h>

#include <cstdio>
#include <cstring>
#include <iostream>
#include <string>
#include <thread>
#include <vector>

using namespace h5swmrfs;
using namespace std::chrono;

namespace {

int log_fd = -1;
std::string tag = "-";

long long mono_ns() {
    timespec ts{};
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return static_cast<long long>(ts.tv_sec) * 1000000000LL + ts.tv_nsec;
}

void event(const char* what, lock::Mode mode, std::uint64_t generation, const std::string& extra = "") {
    std::string line = std::to_string(mono_ns()) + " " + std::to_string(getpid()) + " " + tag + " " + what + " " +
                       (mode == lock::Mode::Shared ? "S" : "X") + " " + std::to_string(generation);
    if (!extra.empty()) line += " " + extra;
    line += "\n";
    if (log_fd >= 0) {
        ssize_t ignored = ::write(log_fd, line.data(), line.size());
        (void)ignored;
    } else {
        std::cout << line << std::flush;
    }
}

int usage() {
    std::cerr << "usage: lock_helper [--backend B] [--redis URL] [--password P] [--key K] [--sidecar F]\n"
                 "  [--lease-ms N] [--timeout-ms N] [--keep-idle-ms N] [--label L] [--log F] [--tag T]\n"
                 "  hold --mode S|X [--hold-ms N] [--count N] [--gap-ms N] [--pause-after-enter]\n"
                 "       [--cache [--drop-after-ms N]] [--wait-drops] [--linger-ms N]\n"
                 "  | check | generation\n";
    return 2;
}

}  // namespace

int main(int argc, char** argv) {
    lock::Options options;
    options.key = "test";
    std::string action, mode_name = "S";
    long hold_ms = 100, count = 1, gap_ms = 0;
    bool pause_after_enter = false;
    bool cache = false;       // a caching process: shared holds are released as drops
    long drop_after_ms = 0;   // how long "emptying the caches" takes; -1: never report it
    long linger_ms = 0;       // stay this long after the last hold (kept holds, drops pending)
    bool wait_drops = false;  // a writer: after each exclusive hold, wait for older drops
    std::vector<std::string> args(argv + 1, argv + argc);
    for (std::size_t i = 0; i < args.size(); ++i) {
        auto value = [&]() -> std::string {
            if (i + 1 >= args.size()) throw std::runtime_error("missing value for " + args[i]);
            return args[++i];
        };
        const std::string& a = args[i];
        if (a == "--backend") options.backend = value();
        else if (a == "--redis") options.redis_url = value();
        else if (a == "--password") options.redis_password = value();
        else if (a == "--key") options.key = value();
        else if (a == "--sidecar") options.local_lock_file = value();
        else if (a == "--lease-ms") options.lease = milliseconds(std::stol(value()));
        else if (a == "--timeout-ms") options.timeout = milliseconds(std::stol(value()));
        else if (a == "--keep-idle-ms") options.keep_idle = milliseconds(std::stol(value()));
        else if (a == "--label") options.holder_label = value();
        else if (a == "--log") {
            log_fd = ::open(value().c_str(), O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
            if (log_fd < 0) return perror("log"), 1;
        } else if (a == "--tag") tag = value();
        else if (a == "--mode") mode_name = value();
        else if (a == "--hold-ms") hold_ms = std::stol(value());
        else if (a == "--count") count = std::stol(value());
        else if (a == "--gap-ms") gap_ms = std::stol(value());
        else if (a == "--pause-after-enter") pause_after_enter = true;
        else if (a == "--cache") cache = true;
        else if (a == "--drop-after-ms") drop_after_ms = std::stol(value());
        else if (a == "--linger-ms") linger_ms = std::stol(value());
        else if (a == "--wait-drops") wait_drops = true;
        else if (a == "-v") log::set_level(log::Level::Debug);
        else if (action.empty() && a[0] != '-') action = a;
        else return usage();
    }
    if (mode_name != "S" && mode_name != "X") return usage();
    const lock::Mode mode = mode_name == "S" ? lock::Mode::Shared : lock::Mode::Exclusive;
    try {
        auto lock = lock::make_lock(options);
        if (action == "check") {
            lock->check_reachable();
            std::cout << "ok\n";
            return 0;
        }
        if (action == "generation") {
            std::cout << lock->current_generation() << "\n";
            return 0;
        }
        if (action != "hold") return usage();
        if (cache) {
            // Emptying the caches is simulated on the lock's thread itself: a slow handler
            // only delays this process's next release.
            lock->on_shared_released([&](const lock::Drop& drop) {
                event("DROP", lock::Mode::Shared, drop.generation, std::to_string(drop.id));
                if (drop_after_ms < 0) return;
                std::this_thread::sleep_for(milliseconds(drop_after_ms));
                lock->dropped(drop.id);
                event("DROPPED", lock::Mode::Shared, drop.generation, std::to_string(drop.id));
            });
        }
        for (long n = 0; n < count; ++n) {
            event("WAIT", mode, 0);
            std::unique_ptr<lock::Hold> hold;
            try {
                hold = lock->acquire(mode);
            } catch (const Error& e) {
                event("FAIL", mode, 0, std::to_string(e.code()));
                std::cerr << "lock_helper: " << e.what() << "\n";
                return e.code() == EBUSY ? 4 : e.code() == EIO ? 5 : 1;
            }
            event("ENTER", mode, hold->generation());
            const auto until = steady_clock::now() + milliseconds(hold_ms);
            bool paused = false;
            try {
                do {
                    hold->check_valid();
                    event("WRITE", mode, hold->generation());
                    if (pause_after_enter && !paused) {
                        paused = true;
                        raise(SIGSTOP);
                        continue;
                    }
                    std::this_thread::sleep_for(std::min(milliseconds(20), milliseconds(hold_ms)));
                } while (steady_clock::now() < until);
                hold->check_valid();
                event("EXIT", mode, hold->generation());
            } catch (const Error& e) {
                event("REFUSED", mode, hold->generation());
                std::cerr << "lock_helper: " << e.what() << "\n";
                return 3;
            }
            const std::uint64_t generation = hold->generation();
            hold.reset();
            if (mode == lock::Mode::Exclusive && wait_drops) {
                lock->wait_for_drops(generation, false);
                event("WAITED", mode, generation);
            }
            if (gap_ms > 0) std::this_thread::sleep_for(milliseconds(gap_ms));
        }
        if (linger_ms > 0) std::this_thread::sleep_for(milliseconds(linger_ms));
        return 0;
    } catch (const Error& e) {
        std::cerr << e.what() << "\n";
        return e.code() == EBUSY ? 4 : e.code() == EIO ? 5 : 1;
    } catch (const std::exception& e) {
        std::cerr << "lock_helper: " << e.what() << "\n";
        return 1;
    }
}
