// The HTTP endpoint of --metrics: GET /metrics answers with the registry's exposition.
//
// The socket is bound when the endpoint is made, so a port already taken or a socket
// path in use fails the mount's startup checks; the threads that serve it start only
// with start(), after the daemon has forked (threads do not survive the fork). It has a
// thread that accepts and two that answer; a client gets 5 s to send its request.
#pragma once

#include <memory>

#include "metrics/address.h"
#include "metrics/registry.h"

namespace h5swmrfs::metrics {

class HttpEndpoint {
public:
    // Binds `address`. A unix socket path is made absolute (the daemon changes to /), a
    // stale socket there (nobody accepts on it) is replaced, and anything else there is
    // an error. Throws Error with one line.
    HttpEndpoint(const ListenAddress& address, const Registry& registry);
    // Stops serving, and removes the unix socket it made.
    ~HttpEndpoint();
    HttpEndpoint(const HttpEndpoint&) = delete;
    HttpEndpoint& operator=(const HttpEndpoint&) = delete;

    // Serves on its own threads until destroyed; SIGINT, SIGTERM and SIGHUP are blocked
    // in them, so the signals that end the mount reach the FUSE loop.
    void start();
    // "http://127.0.0.1:9464/metrics", "unix:/run/h5.sock (GET /metrics)"
    std::string describe() const;

private:
    struct Server;
    std::unique_ptr<Server> server_;
};

}  // namespace h5swmrfs::metrics
