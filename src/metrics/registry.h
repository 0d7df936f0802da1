// The metrics of a process, by name and labels, and their text for Prometheus.
//
// A layer asks for its metrics once (a counter of name and labels is the same object
// each time it is asked for) and keeps the references: the updates then never come
// back here. Registering takes a mutex and allocates; so does exposition, which reads
// every value with relaxed loads and needs nothing from the code that updates them.
#pragma once

#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include "metrics/metric.h"

namespace h5swmrfs::metrics {

// Label names and values, in the order they are written.
using Labels = std::vector<std::pair<std::string, std::string>>;

class Registry {
public:
    // The counter `name` with `labels`, made at the first call. Throws Error(EINVAL) for a
    // name or label name Prometheus does not accept, or a name registered as a histogram.
    Counter& counter(const std::string& name, const std::string& help, const Labels& labels = {});
    // Likewise a histogram; later calls for the same series get the first one's bounds.
    Histogram& histogram(const std::string& name, const std::string& help, const Labels& labels = {},
                         std::vector<double> bounds = duration_bounds());

    // Every family in the text exposition format 0.0.4, sorted by name, each series of a
    // family sorted by its labels.
    std::string exposition() const;

private:
    enum class Kind { Counter, Histogram };
    struct Series {
        Labels labels;
        std::unique_ptr<Counter> counter;
        std::unique_ptr<Histogram> histogram;
    };
    struct Family {
        Kind kind;
        std::string help;
        std::map<std::string, Series> series;  // by the labels as written
    };
    Series& series(const std::string& name, const std::string& help, const Labels& labels, Kind kind);

    mutable std::mutex mutex_;
    std::map<std::string, Family> families_;
};

// The process's registry: what --metrics serves.
Registry& registry();

// What the Content-Type of the exposition says.
inline constexpr const char* exposition_content_type = "text/plain; version=0.0.4; charset=utf-8";

}  // namespace h5swmrfs::metrics
