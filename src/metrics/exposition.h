// The pieces of Prometheus's text exposition format 0.0.4: escaping and numbers.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "metrics/registry.h"

namespace h5swmrfs::metrics::text {

// A HELP line's text: backslash and line feed escaped.
std::string help(std::string_view text);
// `{a="x",b="y"}` with values escaped (backslash, double quote, line feed); empty for no
// labels. `le`, when given, comes last (a histogram's bucket).
std::string labels(const Labels& labels, std::string_view le = {});
// A sample value: the shortest decimal that reads back as `value` (printf's %g style:
// 0.0001, 1e-05, 60); +Inf, -Inf, NaN.
std::string number(double value);
std::string number(std::uint64_t value);

// Whether Prometheus accepts `name` as a metric name ([a-zA-Z_:][a-zA-Z0-9_:]*) or as a
// label name ([a-zA-Z_][a-zA-Z0-9_]*, not starting with "__").
bool valid_metric_name(std::string_view name);
bool valid_label_name(std::string_view name);

}  // namespace h5swmrfs::metrics::text
