#include "lock/backend.h"
#include "lock/lock.h"
#include "util/error.h"
#include "util/file_io.h"

#include <cerrno>
#include <climits>
#include <cstdlib>
#include <cstring>

namespace h5swmrfs::lock {

std::unique_ptr<Lock> make_lock(const Options& options) {
    if (options.lease.count() < 300)
        throw Error(EINVAL, "lock lease must be at least 0.3 s (got " + std::to_string(options.lease.count()) + " ms)");
    if (options.timeout.count() < 0) throw Error(EINVAL, "lock timeout must not be negative");
    if (options.backend == "redis") {
        if (options.key.empty()) throw Error(EINVAL, "redis lock: empty lock key");
        return make_process_lock(options, make_redis_backend(options));
    }
    if (options.backend == "local") {
        if (options.local_lock_file.empty()) throw Error(EINVAL, "local lock: no sidecar lock file given");
        return make_process_lock(options, make_local_backend(options));
    }
    if (options.backend == "h5pyswmr") {
        if (options.key.empty()) throw Error(EINVAL, "h5pyswmr lock: empty lock key");
        return make_process_lock(options, make_h5pyswmr_backend(options));
    }
    throw Error(EINVAL, "unknown lock backend '" + options.backend + "' (expected redis, local or h5pyswmr)");
}

std::string default_key(const std::string& file) {
    if (file.empty()) throw Error(EINVAL, "empty file name");
    char resolved[PATH_MAX];
    if (::realpath(file.c_str(), resolved)) return resolved;
    if (errno != ENOENT) throw Error(errno, file + ": " + std::strerror(errno));
    // Not there yet (--create): its directory's canonical path plus its name.
    std::string path = file;
    while (path.size() > 1 && path.back() == '/') path.pop_back();
    const std::string dir = util::directory_of(path);
    const std::string name = path.substr(path.rfind('/') + 1);
    if (name.empty() || name == "." || name == "..") throw Error(EINVAL, file + ": not a file name");
    if (!::realpath(dir.c_str(), resolved)) throw Error(errno, dir + ": " + std::strerror(errno));
    std::string out = resolved;
    if (out.back() != '/') out.push_back('/');
    return out + name;
}

std::string sidecar_path(const std::string& file) { return default_key(file) + ".h5swmrfs-lock"; }

std::string default_redis_url() {
    const char* env = std::getenv("H5SWMRFS_REDIS");
    return env && *env ? env : "redis://127.0.0.1:6379/0";
}

}  // namespace h5swmrfs::lock
