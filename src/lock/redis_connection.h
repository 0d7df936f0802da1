// One blocking hiredis connection, logged in and on the right database, and the pool the
// backend's threads share. hiredis failures become RedisError here and nowhere else.
#pragma once

#include "lock/redis_url.h"
#include "util/error.h"

#include <hiredis/hiredis.h>

#include <algorithm>
#include <chrono>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

namespace h5swmrfs::lock::redis {

struct ReplyDeleter {
    void operator()(redisReply* reply) const noexcept { freeReplyObject(reply); }
};
struct ContextDeleter {
    void operator()(redisContext* context) const noexcept { redisFree(context); }
};
using ReplyPtr = std::unique_ptr<redisReply, ReplyDeleter>;
using ContextPtr = std::unique_ptr<redisContext, ContextDeleter>;

enum class Failure {
    Unreachable,   // connect failed, connection dropped, timed out
    WrongPassword, // AUTH refused
    NoAuth,        // the server wants a password and none was given
    BadDatabase,   // SELECT refused
    NoScript,      // EVALSHA of a script the server does not have
    Reply,         // any other error reply
};

// Always errno EIO: to a filesystem caller every redis failure is an I/O error.
class RedisError : public Error {
public:
    RedisError(Failure failure, const std::string& what) : Error(EIO, what), failure_(failure) {}
    Failure failure() const noexcept { return failure_; }

private:
    Failure failure_;
};

class Connection {
public:
    // Connects, AUTHs, SELECTs. `timeout` bounds the connect and every command
    // (zero: commands block forever, for a subscriber).
    Connection(const Endpoint& endpoint, std::chrono::milliseconds timeout, bool command_timeout = true);

    // Sends one command and reads its reply. Throws RedisError; an error reply
    // leaves the connection usable, anything else marks it broken.
    ReplyPtr command(const std::vector<std::string>& args);
    ReplyPtr command(std::initializer_list<std::string_view> args);
    // Reads the next pushed reply (pub/sub).
    ReplyPtr read_reply();

    // Zero: block forever (a subscriber waiting for events).
    void set_timeout(std::chrono::milliseconds timeout);
    bool broken() const noexcept { return broken_; }
    // Wakes a thread blocked in read_reply on this connection (it then fails as Unreachable).
    void shut_down() noexcept;

private:
    ReplyPtr run(int argc, const char** argv, const std::size_t* lengths);
    ReplyPtr checked(redisReply* reply);
    [[noreturn]] void fail_io(const char* doing);

    Endpoint endpoint_;
    ContextPtr context_;
    bool broken_ = false;
};

// Idle connections shared by the threads of one backend; a broken connection is dropped
// and the next user connects afresh (so a restarted redis is picked up, with AUTH and SELECT).
class Pool {
public:
    Pool(Endpoint endpoint, std::chrono::milliseconds timeout) : endpoint_(std::move(endpoint)), timeout_(timeout) {}

    // Runs use(connection); connecting and every command on it wait at most `limit` (and
    // never more than the pool's timeout), so a caller with a deadline is not held past it
    // by a server that stopped answering.
    template <class F>
    auto with(F&& use, std::chrono::milliseconds limit = std::chrono::milliseconds::max()) {
        const std::chrono::milliseconds bound = std::clamp(limit, std::chrono::milliseconds(1), timeout_);
        std::unique_ptr<Connection> connection = take(bound);
        struct GiveBack {
            Pool* pool;
            std::unique_ptr<Connection>& connection;
            bool bounded;
            ~GiveBack() {
                if (bounded && connection && !connection->broken()) {
                    try {
                        connection->set_timeout(pool->timeout_);
                    } catch (...) {
                        connection.reset();
                    }
                }
                pool->give_back(std::move(connection));
            }
        } give_back{this, connection, bound != timeout_};
        return use(*connection);
    }

    const Endpoint& endpoint() const noexcept { return endpoint_; }
    std::chrono::milliseconds timeout() const noexcept { return timeout_; }

private:
    std::unique_ptr<Connection> take(std::chrono::milliseconds timeout);
    void give_back(std::unique_ptr<Connection> connection) noexcept;

    const Endpoint endpoint_;
    const std::chrono::milliseconds timeout_;
    std::mutex mutex_;
    std::vector<std::unique_ptr<Connection>> idle_;
};

// Helpers to read replies; they throw RedisError(Reply) on an unexpected shape.
long long integer_of(const redisReply* reply);
std::string string_of(const redisReply* reply);

}  // namespace h5swmrfs::lock::redis
