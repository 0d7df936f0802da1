#include "util/log.h"

#include <syslog.h>
#include <unistd.h>

#include <atomic>
#include <cstdio>
#include <string>

namespace h5swmrfs::log {
namespace {
std::atomic<int> g_level{static_cast<int>(Level::Info)};
std::atomic<bool> g_syslog{false};

const char* name(Level level) {
    switch (level) {
        case Level::Debug: return "debug";
        case Level::Info: return "info";
        case Level::Warning: return "warning";
        case Level::Error: return "error";
    }
    return "?";
}

int priority(Level level) {
    switch (level) {
        case Level::Debug: return LOG_DEBUG;
        case Level::Info: return LOG_INFO;
        case Level::Warning: return LOG_WARNING;
        case Level::Error: return LOG_ERR;
    }
    return LOG_INFO;
}
}  // namespace

void set_level(Level level) { g_level = static_cast<int>(level); }

void use_syslog(bool on) {
    if (on && !g_syslog) openlog("h5swmrfs", LOG_PID, LOG_DAEMON);
    g_syslog = on;
}

bool enabled(Level level) noexcept { return static_cast<int>(level) >= g_level.load(std::memory_order_relaxed); }

void write(Level level, std::string_view line) noexcept {
    if (g_syslog) {
        syslog(priority(level), "%.*s", static_cast<int>(line.size()), line.data());
        return;
    }
    // One write(2) per line so lines from several threads never interleave.
    std::string out = "h5swmrfs[" + std::to_string(getpid()) + "] " + name(level) + ": ";
    out.append(line);
    out.push_back('\n');
    ssize_t ignored = ::write(STDERR_FILENO, out.data(), out.size());
    (void)ignored;
}

}  // namespace h5swmrfs::log
