// Where --metrics listens: "HOST:PORT", "[IPV6]:PORT" or "unix:PATH".
//
// HOST must be written as an IP address (or `localhost`, taken as 127.0.0.1): a host
// name could resolve to an address reachable from other hosts, and whoever reads the
// metrics learns the file's activity. So nothing but loopback is served unless the user
// wrote another address, and every interface (0.0.0.0, [::]) only when written so.
#pragma once

#include <string>
#include <string_view>

namespace h5swmrfs::metrics {

struct ListenAddress {
    std::string host;       // an IP address as written (localhost: 127.0.0.1); empty for unix
    int port = 0;
    std::string unix_path;  // unix:PATH

    bool is_unix() const { return !unix_path.empty(); }
    // "127.0.0.1:9464", "[::1]:9464", "unix:/run/h5.sock"
    std::string text() const;
};

// Throws Error(EINVAL) with one line saying what is wrong and what is accepted.
ListenAddress parse_listen_address(std::string_view text);

}  // namespace h5swmrfs::metrics
