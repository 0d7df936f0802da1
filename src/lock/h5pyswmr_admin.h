// `h5swmrfs-ctl --lock h5pyswmr status|break` (admin.h dispatches here).
#pragma once

#include "lock/admin.h"

namespace h5swmrfs::lock {

LockStatus h5pyswmr_status(const Options& options);
BreakResult h5pyswmr_break(const Options& options);

}  // namespace h5swmrfs::lock
