// The two kinds of metric a mount keeps. Updating one is a relaxed atomic add or two: no
// lock, no allocation, since they sit on the path of every operation. Reading one
// (exposition.cpp) may see a histogram halfway through an update; Prometheus tolerates
// that, and its count is derived from the buckets so the two always agree.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <vector>

namespace h5swmrfs::metrics {

class Counter {
public:
    void add(std::uint64_t n = 1) noexcept { value_.fetch_add(n, std::memory_order_relaxed); }
    std::uint64_t value() const noexcept { return value_.load(std::memory_order_relaxed); }

private:
    std::atomic<std::uint64_t> value_{0};
};

// Observations counted per bucket, a bucket being everything up to its upper bound and
// above the previous one; the last bucket (+Inf) takes what is above every bound.
class Histogram {
public:
    // `bounds`: strictly increasing, finite. Throws Error(EINVAL) otherwise.
    explicit Histogram(std::vector<double> bounds);

    void observe(double value) noexcept;
    template <class Rep, class Period>
    void observe(std::chrono::duration<Rep, Period> duration) noexcept {
        observe(std::chrono::duration<double>(duration).count());
    }

    struct Snapshot {
        std::vector<std::uint64_t> cumulative;  // per bound, then +Inf: what Prometheus calls le buckets
        std::uint64_t count = 0;                // == cumulative.back()
        double sum = 0;
    };
    Snapshot snapshot() const;
    const std::vector<double>& bounds() const noexcept { return bounds_; }

private:
    const std::vector<double> bounds_;
    std::unique_ptr<std::atomic<std::uint64_t>[]> buckets_;  // bounds_.size() + 1
    std::atomic<double> sum_{0};
};

// Bounds for durations in seconds, 100 µs to 60 s (the default --lock-timeout).
std::vector<double> duration_bounds();

}  // namespace h5swmrfs::metrics
