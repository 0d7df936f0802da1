#include "fs/mount.h"

#include <cstdarg>
#include <cstdio>
#include <optional>
#include <sstream>

#include "fs/connection_guard.h"
#include "fs/filesystem.h"
#include "util/error.h"
#include "util/fuse_connection.h"
#include "util/log.h"
#include "util/mounts.h"
#include "util/readahead.h"
#include "util/text.h"

namespace h5swmrfs::fs {
namespace {

class FuseArgs {
public:
    FuseArgs(const Config& config, const Session& session) {
        storage_ = {"h5swmrfs"};
        std::string mount_options = "default_permissions,fsname=" + util::escape_fuse_option(config.file) + ",subtype=h5swmrfs" +
                                    ",max_read=" + std::to_string(kMaxRead);
        if (config.read_only) mount_options += ",ro";
        if (session.auto_unmount) mount_options += ",auto_unmount";
        for (const std::string& option : session.fuse_options) mount_options += "," + option;
        storage_.push_back("-o");
        storage_.push_back(mount_options);
        if (session.debug) storage_.push_back("-d");
        for (std::string& s : storage_) argv_.push_back(s.data());
        args_ = FUSE_ARGS_INIT(static_cast<int>(argv_.size()), argv_.data());
    }
    // fuse_session_new may replace argv by a copy of its own (args.allocated): freed here.
    ~FuseArgs() { fuse_opt_free_args(&args_); }
    FuseArgs(const FuseArgs&) = delete;
    FuseArgs& operator=(const FuseArgs&) = delete;

    fuse_args* get() { return &args_; }

private:
    std::vector<std::string> storage_;
    std::vector<char*> argv_;
    fuse_args args_{};
};

// A mounted FUSE session with its signal handlers; unmounted when destroyed.
class MountedSession {
public:
    MountedSession(FuseArgs& args, const std::string& mountpoint, Filesystem& filesystem)
        : session_(fuse_session_new(args.get(), &operations(), sizeof(fuse_lowlevel_ops), &filesystem)) {
        if (!session_) throw Error(EINVAL, "invalid FUSE options");
        if (fuse_set_signal_handlers(session_) != 0) {
            fuse_session_destroy(session_);
            throw Error(EIO, "cannot install signal handlers");
        }
        if (fuse_session_mount(session_, mountpoint.c_str()) != 0) {
            fuse_remove_signal_handlers(session_);
            fuse_session_destroy(session_);
            throw Error(EIO, "cannot mount on " + mountpoint);
        }
    }
    ~MountedSession() {
        fuse_session_unmount(session_);
        fuse_remove_signal_handlers(session_);
        fuse_session_destroy(session_);
    }
    MountedSession(const MountedSession&) = delete;
    MountedSession& operator=(const MountedSession&) = delete;

    fuse_session* get() const { return session_; }

    // Serves requests until the session ends; a positive status is the signal that ended it.
    int serve(bool single_thread) {
        if (single_thread) return fuse_session_loop(session_);
        fuse_loop_config loop{};
        loop.clone_fd = 0;
        loop.max_idle_threads = 16;
        return fuse_session_loop_mt(session_, &loop);
    }

private:
    fuse_session* session_;
};

// What libfuse logs while it is asked whether it takes the options: kept for the one
// error line instead of going to stderr. One message may come in several calls.
std::string* fuse_complaints = nullptr;

void keep_complaint(fuse_log_level level, const char* format, va_list arguments) {
    if (level > FUSE_LOG_ERR || !fuse_complaints) return;
    char text[1024];
    std::vsnprintf(text, sizeof text, format, arguments);
    *fuse_complaints += text;
}

// "fuse: unknown option(s): `-o foo'\n" -> "unknown option(s): `-o foo'", lines joined.
std::string one_line(const std::string& complaints) {
    std::string out, line;
    std::istringstream lines(complaints);
    while (std::getline(lines, line)) {
        if (line.starts_with("fuse: ")) line.erase(0, 6);
        while (!line.empty() && line.back() == ' ') line.pop_back();
        if (line.empty()) continue;
        if (!out.empty()) out += "; ";
        out += line;
    }
    return out;
}

}  // namespace

void check_fuse_options(const Config& config, const Session& session) {
    FuseArgs args(config, session);
    std::string complaints;
    fuse_complaints = &complaints;
    fuse_set_log_func(keep_complaint);
    // A session that is never mounted: libfuse parses every option here.
    fuse_session* probe = fuse_session_new(args.get(), &operations(), sizeof(fuse_lowlevel_ops), nullptr);
    fuse_set_log_func(nullptr);
    fuse_complaints = nullptr;
    if (!probe) throw Error(EINVAL, complaints.empty() ? "invalid FUSE options" : one_line(complaints) + " (see --help)");
    fuse_session_destroy(probe);
}

int mount(const Config& config, const Session& session, const LockMaker& make_lock) {
    std::optional<ConnectionGuard> guard;  // the last to go
    FuseArgs args(config, session);
    Filesystem filesystem(config);  // outlives the session, whose requests use it
    MountedSession mounted(args, config.mountpoint, filesystem);
    if (!session.foreground) log::use_syslog(true);
    fuse_daemonize(session.foreground ? 1 : 0);
    // Only a mount that caches tells the kernel to forget, the one wait a killed daemon
    // cannot end. Started before any thread, as a fork is best made.
    const std::optional<util::MountEntry> entry = util::mount_at(config.mountpoint);
    if (filesystem.cache.enabled() && entry) {
        try {
            guard.emplace(entry->device, config.mountpoint);
        } catch (const std::exception& e) {
            log::error(e.what(), ": a kill of this daemon may leave the mount hanging");
        }
        try {
            util::set_readahead(entry->device, KernelCache::kReadaheadKiB);
        } catch (const std::exception& e) {
            log::info(e.what(), ": the kernel's read-ahead stays at its default");
        }
    }

    int status = 0;
    try {
        filesystem.start(make_lock(), mounted.get(), entry ? &*entry : nullptr);
        if (session.serve_metrics) session.serve_metrics();
        log::info("mounted ", config.file, " on ", config.mountpoint, " (", session.lock_description, ")");
        status = mounted.serve(session.single_thread);
    } catch (const std::exception& e) {
        log::error(e.what());
        status = 1;
    }
    // Nothing may tell the session's kernel to forget once the session is gone. Nothing
    // answers the session's requests now either: a thread that waits for one of them
    // (kernel_cache.h) is freed by failing them, as the kernel would once the session is gone.
    filesystem.cache.stop([&] {
        if (!entry) return;
        log::warning("the kernel cache's thread waits for a request nobody will answer: aborting the FUSE connection");
        try {
            util::abort_fuse_connection(entry->device);
        } catch (const std::exception& e) {
            log::error(e.what());
        }
    });
    // A positive status is the signal (SIGTERM, SIGINT) that ended the loop: a clean unmount.
    return status >= 0 ? 0 : 1;
}

std::string fuse_version() { return fuse_pkgversion(); }

}  // namespace h5swmrfs::fs
