// What the lock counts for a mount's metrics (src/metrics), each called in the one place
// where the thing happens. A call is an atomic add: no lock, no allocation.
#pragma once

#include <chrono>

#include "lock/lock.h"

namespace h5swmrfs::lock::counts {

// A hold granted by the backend (redis or local): one shared grant serves every
// operation of the process that runs while it is kept.
void granted(Mode mode) noexcept;
// A hold found lost: its lease ran out, the lock was broken, or redis forgot it.
void lost(Mode mode) noexcept;
// A reader's kept shared hold let go for a writer (src/fs pins: "cut").
void cut() noexcept;
// How long an operation waited for its hold, granted or not.
void waited(Mode mode, std::chrono::steady_clock::duration waited) noexcept;
// A notice that a writer waits elsewhere (redis's message, or the h5pyswmr backend's watch
// of writecount), heard once the kept shared hold takes no new operation.
void writer_noticed() noexcept;
// A renewal of this process's leases that failed (redis unreachable, too slow).
void renewal_missed() noexcept;
// The connection to redis was lost, and is made again.
void reconnected() noexcept;

}  // namespace h5swmrfs::lock::counts
