#include "lock/redis_connection.h"

#include <fcntl.h>
#include <sys/socket.h>
#include <sys/time.h>

namespace h5swmrfs::lock::redis {
namespace {

timeval to_timeval(std::chrono::milliseconds ms) {
    return timeval{static_cast<time_t>(ms.count() / 1000), static_cast<suseconds_t>((ms.count() % 1000) * 1000)};
}

bool starts_with(const redisReply* reply, std::string_view prefix) {
    return std::string_view(reply->str, reply->len).starts_with(prefix);
}

}  // namespace

Connection::Connection(const Endpoint& endpoint, std::chrono::milliseconds timeout, bool command_timeout)
    : endpoint_(endpoint) {
    timeval tv = to_timeval(timeout);
    redisContext* context = endpoint.unix_path.empty()
                                ? redisConnectWithTimeout(endpoint.host.c_str(), endpoint.port, tv)
                                : redisConnectUnixWithTimeout(endpoint.unix_path.c_str(), tv);
    if (!context) throw RedisError(Failure::Unreachable, "redis at " + endpoint.describe() + " is unreachable: out of memory");
    context_.reset(context);
    if (context->err) fail_io("connecting");
    // Not inherited by commands that `h5swmrfs-ctl run` starts.
    ::fcntl(context->fd, F_SETFD, FD_CLOEXEC);
    if (command_timeout && redisSetTimeout(context, tv) != REDIS_OK) fail_io("setting the timeout");
    if (endpoint.unix_path.empty()) redisEnableKeepAlive(context);

    try {
        if (!endpoint.password.empty()) {
            if (endpoint.user.empty()) command({"AUTH", endpoint.password});
            else command({"AUTH", endpoint.user, endpoint.password});
        }
        if (endpoint.db != 0) command({"SELECT", std::to_string(endpoint.db)});
        else if (endpoint.password.empty()) command({"PING"});  // surfaces NOAUTH now, not at the first script
    } catch (const RedisError& e) {
        const std::string where = "redis at " + endpoint.describe();
        const std::string what = e.what();
        switch (e.failure()) {
            case Failure::NoAuth:
                throw RedisError(Failure::NoAuth, where + " requires a password (give --redis-password-file)");
            case Failure::WrongPassword:
                throw RedisError(Failure::WrongPassword, where + ": wrong password (" + what + ")");
            case Failure::Reply:
                if (what.find("without any password configured") != std::string::npos)
                    throw RedisError(Failure::WrongPassword, where + ": a password was given but the server has none (" + what + ")");
                if (what.find("invalid password") != std::string::npos || what.find("invalid username-password") != std::string::npos)
                    throw RedisError(Failure::WrongPassword, where + ": wrong password (" + what + ")");
                if (what.find("DB index") != std::string::npos)
                    throw RedisError(Failure::BadDatabase, where + ": database " + std::to_string(endpoint.db) +
                                                               " does not exist (" + what + ")");
                throw RedisError(Failure::Reply, where + ": " + what);
            default: throw;
        }
    }
}

void Connection::fail_io(const char* doing) {
    broken_ = true;
    std::string why = context_ && context_->err ? std::string(context_->errstr) : "unknown error";
    if (context_ && context_->err == REDIS_ERR_IO && why.find("Resource temporarily unavailable") != std::string::npos)
        why = "timed out";
    throw RedisError(Failure::Unreachable, "redis at " + endpoint_.describe() + " is unreachable (" + doing + "): " + why);
}

ReplyPtr Connection::checked(redisReply* reply) {
    if (!reply) fail_io("reading a reply");
    ReplyPtr owned(reply);
    if (reply->type == REDIS_REPLY_ERROR) {
        std::string what(reply->str, reply->len);
        Failure failure = starts_with(reply, "NOSCRIPT") ? Failure::NoScript
                          : starts_with(reply, "NOAUTH") ? Failure::NoAuth
                          : starts_with(reply, "WRONGPASS") ? Failure::WrongPassword
                                                            : Failure::Reply;
        throw RedisError(failure, what);
    }
    return owned;
}

ReplyPtr Connection::run(int argc, const char** argv, const std::size_t* lengths) {
    if (broken_) throw RedisError(Failure::Unreachable, "redis at " + endpoint_.describe() + ": connection lost");
    return checked(static_cast<redisReply*>(redisCommandArgv(context_.get(), argc, argv, lengths)));
}

ReplyPtr Connection::command(const std::vector<std::string>& args) {
    std::vector<const char*> argv;
    std::vector<std::size_t> lengths;
    argv.reserve(args.size());
    lengths.reserve(args.size());
    for (const auto& arg : args) {
        argv.push_back(arg.data());
        lengths.push_back(arg.size());
    }
    return run(static_cast<int>(argv.size()), argv.data(), lengths.data());
}

ReplyPtr Connection::command(std::initializer_list<std::string_view> args) {
    std::vector<const char*> argv;
    std::vector<std::size_t> lengths;
    for (auto arg : args) {
        argv.push_back(arg.data());
        lengths.push_back(arg.size());
    }
    return run(static_cast<int>(argv.size()), argv.data(), lengths.data());
}

ReplyPtr Connection::read_reply() {
    if (broken_) throw RedisError(Failure::Unreachable, "redis at " + endpoint_.describe() + ": connection lost");
    void* reply = nullptr;
    if (redisGetReply(context_.get(), &reply) != REDIS_OK) fail_io("waiting for events");
    return checked(static_cast<redisReply*>(reply));
}

void Connection::set_timeout(std::chrono::milliseconds timeout) {
    if (redisSetTimeout(context_.get(), to_timeval(timeout)) != REDIS_OK) fail_io("setting the timeout");
}

void Connection::shut_down() noexcept {
    if (context_ && context_->fd >= 0) ::shutdown(context_->fd, SHUT_RDWR);
}

std::unique_ptr<Connection> Pool::take(std::chrono::milliseconds timeout) {
    std::unique_ptr<Connection> connection;
    {
        std::lock_guard lock(mutex_);
        if (!idle_.empty()) {
            connection = std::move(idle_.back());
            idle_.pop_back();
        }
    }
    if (!connection) return std::make_unique<Connection>(endpoint_, timeout);
    if (timeout != timeout_) connection->set_timeout(timeout);
    return connection;
}

void Pool::give_back(std::unique_ptr<Connection> connection) noexcept {
    if (!connection || connection->broken()) return;
    try {
        std::lock_guard lock(mutex_);
        if (idle_.size() < 8) idle_.push_back(std::move(connection));
    } catch (...) {
    }
}

long long integer_of(const redisReply* reply) {
    if (reply && reply->type == REDIS_REPLY_INTEGER) return reply->integer;
    if (reply && reply->type == REDIS_REPLY_STRING) {
        try {
            return std::stoll(std::string(reply->str, reply->len));
        } catch (...) {
        }
    }
    if (reply && reply->type == REDIS_REPLY_NIL) return 0;
    throw RedisError(Failure::Reply, "unexpected reply from redis (wanted an integer)");
}

std::string string_of(const redisReply* reply) {
    if (reply && (reply->type == REDIS_REPLY_STRING || reply->type == REDIS_REPLY_STATUS)) return {reply->str, reply->len};
    if (reply && reply->type == REDIS_REPLY_INTEGER) return std::to_string(reply->integer);
    if (reply && reply->type == REDIS_REPLY_NIL) return {};
    throw RedisError(Failure::Reply, "unexpected reply from redis (wanted a string)");
}

}  // namespace h5swmrfs::lock::redis
