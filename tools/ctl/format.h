// `h5swmrfs-ctl status` output, as text for people and JSON for programs.
#pragma once

#include "lock/admin.h"

#include <string>

namespace h5swmrfs::ctl {

std::string status_text(const lock::LockStatus& status);
std::string status_json(const lock::LockStatus& status);

// The holders or waiters of a lock, as the two above write them: one indented line each,
// or a JSON array.
std::string participants_text(const std::vector<lock::Participant>& list);
std::string participants_json(const std::vector<lock::Participant>& list);

}  // namespace h5swmrfs::ctl
