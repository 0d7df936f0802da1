#include "lock/counts.h"

#include "metrics/registry.h"

namespace h5swmrfs::lock::counts {
namespace {

using metrics::Counter;
using metrics::Histogram;

const char* mode_name(Mode mode) { return mode == Mode::Shared ? "shared" : "exclusive"; }

struct PerMode {
    Counter& shared;
    Counter& exclusive;
    Counter& operator[](Mode mode) const { return mode == Mode::Shared ? shared : exclusive; }
};

constexpr const char* kTakenHelp =
    "Holds of the lock granted to this mount by its server (redis or local), by mode; one shared grant serves "
    "every operation that runs while the mount keeps it.";
constexpr const char* kGivenUpHelp =
    "Holds this mount lost or let go before it was done with them: reason lost (the lease ran out, the lock was "
    "broken, or redis forgot it), reason cut (a reader's open file let its shared hold go for a writer).";
constexpr const char* kWaitHelp = "Time operations waited for their hold of the lock, by mode.";

Counter& given_up(Mode mode, const char* reason) {
    return metrics::registry().counter("h5swmrfs_lock_holds_given_up_total", kGivenUpHelp,
                                       {{"mode", mode_name(mode)}, {"reason", reason}});
}

struct Families {
    PerMode taken{metrics::registry().counter("h5swmrfs_lock_holds_taken_total", kTakenHelp, {{"mode", "shared"}}),
                  metrics::registry().counter("h5swmrfs_lock_holds_taken_total", kTakenHelp, {{"mode", "exclusive"}})};
    PerMode lost{given_up(Mode::Shared, "lost"), given_up(Mode::Exclusive, "lost")};
    Counter& cut = given_up(Mode::Shared, "cut");
    Histogram& wait_shared = metrics::registry().histogram("h5swmrfs_lock_wait_seconds", kWaitHelp, {{"mode", "shared"}});
    Histogram& wait_exclusive =
        metrics::registry().histogram("h5swmrfs_lock_wait_seconds", kWaitHelp, {{"mode", "exclusive"}});
    Counter& renewals_missed = metrics::registry().counter(
        "h5swmrfs_lock_renewals_missed_total",
        "Renewals of this mount's leases that failed (redis unreachable or too slow); a hold whose lease then "
        "runs out is lost.");
    Counter& writer_notices = metrics::registry().counter(
        "h5swmrfs_lock_writer_notices_total",
        "Notices that a writer waits elsewhere (redis's message, or, with --lock h5pyswmr, the watch of its "
        "writecount every 10 ms); from each, no new operation joins the shared hold this mount keeps.");
    Counter& reconnects = metrics::registry().counter(
        "h5swmrfs_redis_reconnects_total", "Times the connection to redis was lost and made again.");
};

// Registered when the program starts, so that every series is there, at 0, from the first scrape.
const Families families;

}  // namespace

void granted(Mode mode) noexcept { families.taken[mode].add(); }
void lost(Mode mode) noexcept { families.lost[mode].add(); }
void cut() noexcept { families.cut.add(); }
void waited(Mode mode, std::chrono::steady_clock::duration waited) noexcept {
    (mode == Mode::Shared ? families.wait_shared : families.wait_exclusive).observe(waited);
}
void writer_noticed() noexcept { families.writer_notices.add(); }
void renewal_missed() noexcept { families.renewals_missed.add(); }
void reconnected() noexcept { families.reconnects.add(); }

}  // namespace h5swmrfs::lock::counts
