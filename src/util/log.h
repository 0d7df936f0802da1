// Logging to stderr (foreground) or syslog (daemonised); one line per call.
// Arguments are streamed: log::info("opened ", path, " at generation ", gen).
#pragma once

#include <sstream>
#include <string_view>

namespace h5swmrfs::log {

enum class Level { Debug = 0, Info, Warning, Error };

void set_level(Level level);
void use_syslog(bool on);
bool enabled(Level level) noexcept;
void write(Level level, std::string_view line) noexcept;

template <class... Args>
void at(Level level, const Args&... args) noexcept {
    if (!enabled(level)) return;
    try {
        std::ostringstream out;
        (out << ... << args);
        write(level, out.str());
    } catch (...) {
        // Logging must never take an operation down.
    }
}

template <class... Args> void debug(const Args&... a) noexcept { at(Level::Debug, a...); }
template <class... Args> void info(const Args&... a) noexcept { at(Level::Info, a...); }
template <class... Args> void warning(const Args&... a) noexcept { at(Level::Warning, a...); }
template <class... Args> void error(const Args&... a) noexcept { at(Level::Error, a...); }

}  // namespace h5swmrfs::log
