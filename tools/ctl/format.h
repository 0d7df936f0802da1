// `h5swmrfs-ctl status` output, as text for people and JSON for programs.
#pragma once

#include "lock/admin.h"

#include <string>

namespace h5swmrfs::ctl {

std::string status_text(const lock::LockStatus& status);
std::string status_json(const lock::LockStatus& status);

}  // namespace h5swmrfs::ctl
