// The redis backend's subscriber thread: listens on the lock's channel, wakes waiters on
// every notice (and hands "writer" notices to the process layer), and after a lost
// connection moves epoch_ (every hold must then be confirmed again) and reconnects.
// redis_core.h has the lock order.
#include "lock/counts.h"
#include "lock/redis_core.h"
#include "util/log.h"

#include <algorithm>

namespace h5swmrfs::lock::redis {

using namespace std::chrono_literals;

void Core::connection_lost() {
    ++epoch_;
    renew_soon();
    tell_lease_in_doubt();  // redis may have restarted and forgotten our holds
}

void Core::renew_soon() {
    {
        std::lock_guard lock(tracked_mutex_);
        renew_now_ = true;
    }
    tracked_changed_.notify_all();
    events_.bump();
}

// Connects and subscribes; true on success. Throws RedisError when it cannot.
bool Core::subscribe_once(milliseconds& backoff) {
    auto connection = std::make_unique<Connection>(pool_.endpoint(), pool_.timeout());
    connection->command({"SUBSCRIBE", keys_.channel});
    connection->set_timeout(0ms);
    {
        std::lock_guard lock(subscriber_mutex_);
        if (stopping_) return false;
        subscriber_ = std::move(connection);
    }
    backoff = 50ms;
    events_.bump();  // notices may have been missed while we were not subscribed
    return true;
}

void Core::subscriber_loop() {
    milliseconds backoff = 50ms;
    bool reported = false;  // the connection was lost, and is not made again yet
    for (;;) {
        Connection* connection = nullptr;
        {
            std::lock_guard lock(subscriber_mutex_);
            if (stopping_) break;
            connection = subscriber_.get();
        }
        try {
            if (!connection) {
                if (subscribe_once(backoff) && reported) counts::reconnected();
                if (reported) log::info("lock '", options_.key, "': redis reachable again");
                reported = false;
                continue;
            }
            ReplyPtr message = connection->read_reply();
            if (message->type == REDIS_REPLY_ARRAY && message->elements == 3 &&
                string_of(message->element[0]) == "message") {
                const std::string notice = string_of(message->element[2]);
                if (notice == "writer") {
                    if (writer_waiting_) writer_waiting_();
                } else if (notice == "restarted") {
                    // The lock's state began again with nothing recorded: holds of this
                    // process that it forgot must say so now (a renewal), before anything
                    // is granted from it.
                    renew_soon();
                } else {
                    events_.bump();
                }
            }
        } catch (const std::exception& e) {
            {
                std::lock_guard lock(subscriber_mutex_);
                subscriber_.reset();  // `connection`: the one this thread read from
                if (stopping_) break;
            }
            connection_lost();
            if (!reported) log::warning("lock '", options_.key, "': event connection: ", e.what());
            reported = true;
            std::unique_lock lock(subscriber_mutex_);
            stop_requested_.wait_for(lock, backoff, [&] { return stopping_; });
            backoff = std::min<milliseconds>(backoff * 2, 1000ms);
        }
    }
    std::lock_guard lock(subscriber_mutex_);
    subscriber_.reset();
}

}  // namespace h5swmrfs::lock::redis
