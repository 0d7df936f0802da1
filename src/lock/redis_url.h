// Where redis is and how to log in: parsed from the --redis URL.
#pragma once

#include <string>
#include <string_view>

namespace h5swmrfs::lock::redis {

struct Endpoint {
    std::string host;        // TCP host (empty for a unix socket)
    int port = 6379;
    std::string unix_path;   // unix socket path (empty for TCP)
    int db = 0;
    std::string user;        // ACL user; empty for the default user
    std::string password;    // empty: no AUTH

    // The URL without the password, for messages.
    std::string describe() const;
};

// redis://[[USER]:PASSWORD@]HOST[:PORT][/DB]  (HOST may be [IPv6]; PASSWORD may be %-encoded)
// unix:///PATH.sock[?db=N]
// Throws Error(EINVAL) naming what is wrong.
Endpoint parse_url(std::string_view url);

}  // namespace h5swmrfs::lock::redis
