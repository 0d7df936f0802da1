#include "metrics/http_endpoint.h"

#include <httplib.h>
#include <netdb.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <atomic>
#include <climits>
#include <cstring>
#include <thread>

#include "util/error.h"
#include "util/fd.h"
#include "util/log.h"

namespace h5swmrfs::metrics {
namespace {

std::string absolute(const std::string& path) {
    if (path.starts_with('/')) return path;
    char cwd[PATH_MAX];
    if (!::getcwd(cwd, sizeof cwd)) throw Error(errno, "--metrics: cannot resolve " + path + ": " + std::strerror(errno));
    return std::string(cwd) + "/" + path;
}

// Whether a process accepts connections on the unix socket at `path`.
bool socket_in_use(const std::string& path) {
    util::Fd fd(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
    if (!fd) return false;
    sockaddr_un address{};
    address.sun_family = AF_UNIX;
    std::strncpy(address.sun_path, path.c_str(), sizeof address.sun_path - 1);
    return ::connect(fd.get(), reinterpret_cast<const sockaddr*>(&address), sizeof address) == 0 || errno != ECONNREFUSED;
}

// Makes room for a unix socket at `path`: a stale socket is removed; anything else is an error.
void clear_socket_path(const std::string& path) {
    struct stat st {};
    if (::lstat(path.c_str(), &st) != 0) return;
    if (!S_ISSOCK(st.st_mode)) throw Error(EEXIST, "--metrics: " + path + " exists and is not a socket");
    if (socket_in_use(path)) throw Error(EADDRINUSE, "--metrics: " + path + ": another process listens there");
    ::unlink(path.c_str());
}

void only_reuse_address(socket_t sock) {
    // Not SO_REUSEPORT (httplib's default): a second mount given the same port must fail,
    // not share the port with the first.
    int yes = 1;
    ::setsockopt(sock, SOL_SOCKET, SO_REUSEADDR, &yes, sizeof yes);
}

}  // namespace

struct HttpEndpoint::Server : httplib::Server {
    ListenAddress address;
    std::thread thread;
    std::atomic<bool> finished{false};
    dev_t socket_device = 0;
    ino_t socket_inode = 0;

    // The bound socket, when serving never started.
    void close_unserved() {
        const socket_t sock = svr_sock_.exchange(INVALID_SOCKET);
        if (sock != INVALID_SOCKET) ::close(sock);
    }
};

HttpEndpoint::HttpEndpoint(const ListenAddress& address, const Registry& registry)
    : server_(std::make_unique<Server>()) {
    Server& server = *server_;
    server.address = address;
    server.set_socket_options(only_reuse_address);
    server.set_read_timeout(5, 0);
    server.set_write_timeout(5, 0);
    server.set_keep_alive_timeout(5);
    server.set_payload_max_length(64 << 10);
    server.new_task_queue = [] { return new httplib::ThreadPool(2); };
    server.Get("/metrics", [&registry](const httplib::Request&, httplib::Response& response) {
        response.set_content(registry.exposition(), exposition_content_type);
    });
    server.Get("/", [](const httplib::Request&, httplib::Response& response) {
        response.set_content("h5swmrfs: metrics at /metrics\n", "text/plain; charset=utf-8");
    });

    errno = 0;
    bool bound;
    if (address.is_unix()) {
        server.address.unix_path = absolute(address.unix_path);
        if (server.address.unix_path.size() >= sizeof(sockaddr_un::sun_path))
            throw Error(ENAMETOOLONG, "--metrics: socket path " + server.address.unix_path + " is too long");
        clear_socket_path(server.address.unix_path);
        server.set_address_family(AF_UNIX);
        bound = server.bind_to_port(server.address.unix_path, 80);
    } else {
        // A number, never a name to look up (address.h says why).
        bound = server.bind_to_port(address.host, address.port, AI_NUMERICHOST | AI_NUMERICSERV);
    }
    if (!bound) {
        const int error = errno ? errno : EADDRNOTAVAIL;
        throw Error(error, "--metrics: cannot listen on " + server.address.text() + ": " + std::strerror(error));
    }
    if (address.is_unix()) {
        struct stat st {};
        if (::stat(server.address.unix_path.c_str(), &st) == 0) {
            server.socket_device = st.st_dev;
            server.socket_inode = st.st_ino;
        }
    }
}

HttpEndpoint::~HttpEndpoint() {
    Server& server = *server_;
    if (server.thread.joinable()) {
        // stop() does nothing before the thread has begun to listen: asked again until it ends.
        while (!server.finished.load()) {
            server.stop();
            if (!server.finished.load()) std::this_thread::sleep_for(std::chrono::milliseconds(5));
        }
        server.thread.join();
    } else {
        server.close_unserved();
    }
    if (server.address.is_unix()) {
        struct stat st {};
        // Only the socket this endpoint made: another process may have replaced it since.
        if (::lstat(server.address.unix_path.c_str(), &st) == 0 && st.st_dev == server.socket_device &&
            st.st_ino == server.socket_inode)
            ::unlink(server.address.unix_path.c_str());
    }
}

void HttpEndpoint::start() {
    Server& server = *server_;
    server.thread = std::thread([&server] {
        sigset_t blocked;
        sigemptyset(&blocked);
        for (int signal : {SIGINT, SIGTERM, SIGHUP}) sigaddset(&blocked, signal);
        ::pthread_sigmask(SIG_BLOCK, &blocked, nullptr);  // the answering threads inherit it
        if (!server.listen_after_bind()) log::error("metrics at ", server.address.text(), ": serving failed");
        server.finished = true;
    });
    log::info("metrics at ", describe());
}

std::string HttpEndpoint::describe() const {
    const ListenAddress& address = server_->address;
    return address.is_unix() ? address.text() + " (GET /metrics)" : "http://" + address.text() + "/metrics";
}

}  // namespace h5swmrfs::metrics
