// A counter per outcome: label result="ok", or the errno's name ("ENOENT") for a failure.
// The ok series exists from the start; a failure's series appears when that errno first
// does (registering it then is the one slow step; every later count is an atomic add).
#pragma once

#include <array>
#include <atomic>
#include <string>

#include "metrics/registry.h"

namespace h5swmrfs::metrics {

class ResultCounters {
public:
    ResultCounters(Registry& registry, std::string name, std::string help, Labels labels);
    // One outcome: 0 is ok, else a positive errno.
    void count(int error) noexcept;

private:
    static constexpr int kSlots = 256;  // errnos 1..255; any other is counted as "unknown", in slot 0

    Registry& registry_;
    const std::string name_, help_;
    const Labels labels_;
    Counter& ok_;
    std::array<std::atomic<Counter*>, kSlots> failures_{};
};

}  // namespace h5swmrfs::metrics
