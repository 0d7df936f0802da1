#include "metrics/results.h"

#include "util/error.h"

namespace h5swmrfs::metrics {
namespace {

Labels with_result(Labels labels, std::string result) {
    labels.emplace_back("result", std::move(result));
    return labels;
}

}  // namespace

ResultCounters::ResultCounters(Registry& registry, std::string name, std::string help, Labels labels)
    : registry_(registry),
      name_(std::move(name)),
      help_(std::move(help)),
      labels_(std::move(labels)),
      ok_(registry_.counter(name_, help_, with_result(labels_, "ok"))) {}

void ResultCounters::count(int error) noexcept {
    if (error == 0) {
        ok_.add();
        return;
    }
    const bool known = error > 0 && error < kSlots;
    std::atomic<Counter*>& slot = failures_[known ? error : 0];
    Counter* counter = slot.load(std::memory_order_acquire);
    if (!counter) {
        try {
            // Two threads may both get here: the registry gives both the same counter.
            counter = &registry_.counter(name_, help_, with_result(labels_, known ? errno_name(error) : "unknown"));
        } catch (...) {
            return;  // out of memory: this one outcome goes uncounted
        }
        slot.store(counter, std::memory_order_release);
    }
    counter->add();
}

}  // namespace h5swmrfs::metrics
