// Who a hold belongs to: a random token and what `h5swmrfs-ctl status` shows.
#pragma once

#include <string>
#include <string_view>

namespace h5swmrfs::lock {

std::string host_name();
// 128 random bits as 32 hex digits (getrandom).
std::string random_token();
// {"host":"…","pid":N,"label":"…"}
std::string owner_json(std::string_view label);
std::string json_quote(std::string_view text);

}  // namespace h5swmrfs::lock
