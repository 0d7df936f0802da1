// The answers to FUSE requests. Every request gets exactly one; operations give it through
// these functions, which note that the request this thread serves has been answered, so
// that the wrapper every operation runs in (operations.cpp) answers with an errno exactly
// when an operation threw before answering — no exception ever reaches libfuse. The
// wrapper also counts each request's result and time (activity.h).
#pragma once

#include <sys/stat.h>
#include <sys/statvfs.h>

#include <chrono>
#include <cstdint>
#include <exception>
#include <span>

#include "fs/activity.h"
#include "fs/fuse.h"

namespace h5swmrfs::fs::reply {

int err(fuse_req_t req, int error);
void none(fuse_req_t req);
int entry(fuse_req_t req, const fuse_entry_param* entry);
int create(fuse_req_t req, const fuse_entry_param* entry, const fuse_file_info* fi);
int attr(fuse_req_t req, const struct stat* attr, double timeout);
int readlink(fuse_req_t req, const char* link);
int open(fuse_req_t req, const fuse_file_info* fi);
int write(fuse_req_t req, size_t count);
int buf(fuse_req_t req, const char* data, size_t size);
// The bytes of `parts`, one after the other, sent from where they lie (one writev), or
// gathered first when they are too many pieces for one.
int parts(fuse_req_t req, std::span<const std::span<const std::byte>> parts);
// `size` bytes of file `fd` at `offset`: spliced from the file's pages into the answer when
// the kernel and libfuse can (the daemon copies nothing), else read and sent.
int data(fuse_req_t req, int fd, std::uint64_t offset, size_t size);
int statfs(fuse_req_t req, const struct statvfs* st);
int xattr(fuse_req_t req, size_t count);

// Logs a failed operation at the level it deserves and gives the errno to reply with.
// A failed commit (`commit`) is logged at warning level at least, whatever its errno:
// bytes a program wrote did not land, and the log is where a user looks for why.
int report_failure(const char* op, const std::exception& e, bool commit = false) noexcept;

// Runs one operation of kind `kind`: answers its request with the errno of whatever it
// throws before answering (EIO when that carries none; nothing for a request answered by
// reply::none), logs what it throws after answering, never lets an exception out, and
// counts the request with the errno it was answered with (a failure answered by
// reply::none with the errno it would have had).
template <class Work>
void guarded(activity::Operation& kind, fuse_req_t req, bool answered_by_none, Work&& work) noexcept;

// Test builds: throws when a test asked operation `name` to fail, or waits when it asked
// point `name` to pause (fault.cpp).
void fault_point(const char* name);

namespace detail {
// The request this thread is serving, until it is answered.
struct Serving {
    explicit Serving(fuse_req_t req);
    ~Serving();
    bool answered() const;
    int error() const;  // the errno the request was answered with (0: success) or failed with
};
void fail(const char* name, fuse_req_t req, bool answered_by_none, const std::exception* e) noexcept;
}  // namespace detail

template <class Work>
void guarded(activity::Operation& kind, fuse_req_t req, bool answered_by_none, Work&& work) noexcept {
    const auto started = std::chrono::steady_clock::now();
    int error;
    {
        detail::Serving serving(req);
        try {
            fault_point(kind.name());
            work();
        } catch (const std::exception& e) {
            detail::fail(kind.name(), req, answered_by_none, &e);
        } catch (...) {
            detail::fail(kind.name(), req, answered_by_none, nullptr);
        }
        error = serving.error();
    }
    kind.served(error, std::chrono::steady_clock::now() - started);
}

}  // namespace h5swmrfs::fs::reply
