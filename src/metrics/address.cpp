#include "metrics/address.h"

#include <arpa/inet.h>
#include <sys/un.h>

#include <charconv>

#include "util/error.h"

namespace h5swmrfs::metrics {
namespace {

constexpr const char* kForms = " (HOST:PORT with HOST an IP address or localhost, [IPV6]:PORT, or unix:PATH)";

[[noreturn]] void refuse(std::string_view text, const std::string& why) {
    throw Error(EINVAL, "--metrics " + std::string(text) + ": " + why + kForms);
}

int parse_port(std::string_view text, std::string_view port) {
    int value = 0;
    const auto [end, ec] = std::from_chars(port.data(), port.data() + port.size(), value);
    if (port.empty() || ec != std::errc() || end != port.data() + port.size() || value < 1 || value > 65535)
        refuse(text, "the port must be a number from 1 to 65535");
    return value;
}

bool is_ip(int family, const std::string& host) {
    unsigned char out[sizeof(in6_addr)];
    return ::inet_pton(family, host.c_str(), out) == 1;
}

}  // namespace

std::string ListenAddress::text() const {
    if (is_unix()) return "unix:" + unix_path;
    const bool v6 = host.find(':') != std::string::npos;
    return (v6 ? "[" + host + "]" : host) + ":" + std::to_string(port);
}

ListenAddress parse_listen_address(std::string_view text) {
    ListenAddress address;
    if (text.starts_with("unix:")) {
        address.unix_path = text.substr(5);
        if (address.unix_path.empty()) refuse(text, "no socket path");
        if (address.unix_path.size() >= sizeof(sockaddr_un::sun_path))
            refuse(text, "a socket path has at most " + std::to_string(sizeof(sockaddr_un::sun_path) - 1) + " bytes");
        return address;
    }
    const std::size_t colon = text.rfind(':');
    if (colon == std::string_view::npos) refuse(text, "no port");
    std::string_view host = text.substr(0, colon);
    address.port = parse_port(text, text.substr(colon + 1));
    if (host.starts_with('[') && host.ends_with(']')) {
        address.host = host.substr(1, host.size() - 2);
        if (!is_ip(AF_INET6, address.host)) refuse(text, "'" + address.host + "' is not an IPv6 address");
        return address;
    }
    address.host = host;
    if (host.empty()) refuse(text, "no host: write 127.0.0.1 for this host only, 0.0.0.0 for every interface");
    if (host.find(':') != std::string_view::npos) refuse(text, "an IPv6 address goes in brackets");
    if (host == "localhost") address.host = "127.0.0.1";
    else if (!is_ip(AF_INET, address.host))
        refuse(text, "'" + address.host + "' is not an IP address (a name is not looked up)");
    return address;
}

}  // namespace h5swmrfs::metrics
