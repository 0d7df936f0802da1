#include "metrics/registry.h"

#include "metrics/exposition.h"
#include "util/error.h"

namespace h5swmrfs::metrics {

Registry::Series& Registry::series(const std::string& name, const std::string& help, const Labels& labels, Kind kind) {
    if (!text::valid_metric_name(name)) throw Error(EINVAL, "metric name '" + name + "' is not valid");
    for (const auto& [label, value] : labels)
        if (!text::valid_label_name(label) || (kind == Kind::Histogram && label == "le"))
            throw Error(EINVAL, "metric " + name + ": label name '" + label + "' is not valid");
    auto [family, made] = families_.try_emplace(name, Family{kind, help, {}});
    if (!made && family->second.kind != kind)
        throw Error(EINVAL, "metric " + name + " is registered as another kind");
    auto [series, _] = family->second.series.try_emplace(text::labels(labels));
    if (series->second.labels.empty()) series->second.labels = labels;
    return series->second;
}

Counter& Registry::counter(const std::string& name, const std::string& help, const Labels& labels) {
    std::lock_guard guard(mutex_);
    Series& found = series(name, help, labels, Kind::Counter);
    if (!found.counter) found.counter = std::make_unique<Counter>();
    return *found.counter;
}

Histogram& Registry::histogram(const std::string& name, const std::string& help, const Labels& labels,
                               std::vector<double> bounds) {
    std::lock_guard guard(mutex_);
    Series& found = series(name, help, labels, Kind::Histogram);
    if (!found.histogram) found.histogram = std::make_unique<Histogram>(std::move(bounds));
    return *found.histogram;
}

std::string Registry::exposition() const {
    std::lock_guard guard(mutex_);
    std::string out;
    for (const auto& [name, family] : families_) {
        out += "# HELP " + name + " " + text::help(family.help) + "\n";
        out += "# TYPE " + name + (family.kind == Kind::Counter ? " counter\n" : " histogram\n");
        for (const auto& [written, series] : family.series) {
            if (family.kind == Kind::Counter) {
                out += name + written + " " + text::number(series.counter->value()) + "\n";
                continue;
            }
            const Histogram::Snapshot shot = series.histogram->snapshot();
            const std::vector<double>& bounds = series.histogram->bounds();
            for (std::size_t i = 0; i < shot.cumulative.size(); ++i) {
                const std::string le = i < bounds.size() ? text::number(bounds[i]) : "+Inf";
                out += name + "_bucket" + text::labels(series.labels, le) + " " + text::number(shot.cumulative[i]) + "\n";
            }
            out += name + "_sum" + written + " " + text::number(shot.sum) + "\n";
            out += name + "_count" + written + " " + text::number(shot.count) + "\n";
        }
    }
    return out;
}

Registry& registry() {
    static Registry process_registry;
    return process_registry;
}

}  // namespace h5swmrfs::metrics
