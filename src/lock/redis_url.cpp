#include "lock/redis_url.h"

#include "util/error.h"

#include <cerrno>
#include <charconv>

namespace h5swmrfs::lock::redis {
namespace {

[[noreturn]] void bad(std::string_view url, const std::string& why) {
    throw Error(EINVAL, "bad redis URL '" + std::string(url) + "': " + why);
}

int parse_number(std::string_view url, std::string_view text, const char* what, int max) {
    int value = -1;
    auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), value);
    if (text.empty() || ec != std::errc() || end != text.data() + text.size() || value < 0 || value > max)
        bad(url, std::string("invalid ") + what + " '" + std::string(text) + "'");
    return value;
}

std::string percent_decode(std::string_view url, std::string_view text) {
    std::string out;
    for (std::size_t i = 0; i < text.size(); ++i) {
        if (text[i] != '%') {
            out.push_back(text[i]);
            continue;
        }
        if (i + 2 >= text.size()) bad(url, "truncated %-escape");
        int value = 0;
        auto [end, ec] = std::from_chars(text.data() + i + 1, text.data() + i + 3, value, 16);
        if (ec != std::errc() || end != text.data() + i + 3) bad(url, "invalid %-escape");
        out.push_back(static_cast<char>(value));
        i += 2;
    }
    return out;
}

}  // namespace

std::string Endpoint::describe() const {
    if (!unix_path.empty()) return "unix://" + unix_path + (db ? "?db=" + std::to_string(db) : "");
    bool v6 = host.find(':') != std::string::npos;
    return "redis://" + (v6 ? "[" + host + "]" : host) + ":" + std::to_string(port) + "/" + std::to_string(db);
}

Endpoint parse_url(std::string_view url) {
    Endpoint ep;
    constexpr std::string_view unix_scheme = "unix://", redis_scheme = "redis://";
    if (url.starts_with(unix_scheme)) {
        std::string_view rest = url.substr(unix_scheme.size());
        std::string_view query;
        if (auto q = rest.find('?'); q != std::string_view::npos) {
            query = rest.substr(q + 1);
            rest = rest.substr(0, q);
        }
        if (rest.empty() || rest.front() != '/') bad(url, "the socket path must be absolute (unix:///PATH.sock)");
        ep.unix_path = std::string(rest);
        while (!query.empty()) {
            auto amp = query.find('&');
            std::string_view item = query.substr(0, amp);
            query = amp == std::string_view::npos ? std::string_view{} : query.substr(amp + 1);
            if (item.starts_with("db=")) ep.db = parse_number(url, item.substr(3), "database number", 1 << 20);
            else if (item.starts_with("password=")) ep.password = percent_decode(url, item.substr(9));
            else bad(url, "unknown parameter '" + std::string(item) + "'");
        }
        return ep;
    }
    if (!url.starts_with(redis_scheme)) bad(url, "expected redis://HOST[:PORT][/DB] or unix:///PATH.sock[?db=N]");
    std::string_view rest = url.substr(redis_scheme.size());
    if (auto at = rest.rfind('@'); at != std::string_view::npos) {
        std::string_view userinfo = rest.substr(0, at);
        rest = rest.substr(at + 1);
        auto colon = userinfo.find(':');
        if (colon == std::string_view::npos) {
            ep.password = percent_decode(url, userinfo);  // redis://PASSWORD@HOST, as some clients accept
        } else {
            ep.user = percent_decode(url, userinfo.substr(0, colon));
            ep.password = percent_decode(url, userinfo.substr(colon + 1));
        }
    }
    std::string_view hostport = rest;
    if (auto slash = rest.find('/'); slash != std::string_view::npos) {
        hostport = rest.substr(0, slash);
        std::string_view db = rest.substr(slash + 1);
        if (!db.empty()) ep.db = parse_number(url, db, "database number", 1 << 20);
    }
    std::string_view port;
    if (hostport.starts_with("[")) {
        auto close = hostport.find(']');
        if (close == std::string_view::npos) bad(url, "unclosed '[' in host");
        ep.host = std::string(hostport.substr(1, close - 1));
        std::string_view after = hostport.substr(close + 1);
        if (!after.empty()) {
            if (after.front() != ':') bad(url, "expected ':PORT' after ']'");
            port = after.substr(1);
        }
    } else {
        auto colon = hostport.rfind(':');
        ep.host = std::string(hostport.substr(0, colon));
        if (colon != std::string_view::npos) port = hostport.substr(colon + 1);
    }
    if (ep.host.empty()) bad(url, "missing host");
    if (!port.empty() || hostport.ends_with(":")) ep.port = parse_number(url, port, "port", 65535);
    if (ep.port == 0) bad(url, "invalid port '0'");
    return ep;
}

}  // namespace h5swmrfs::lock::redis
