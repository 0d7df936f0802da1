// h5swmrfs: checks everything it can, then mounts.
#include <fcntl.h>
#include <malloc.h>
#include <sys/stat.h>
#include <unistd.h>

#include <climits>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <iostream>

#include "cli/dead_mount.h"
#include "cli/options.h"
#include "config.h"
#include "fs/mount.h"
#include "h5/file.h"
#include "lock/password_file.h"
#include "metrics/http_endpoint.h"
#include "util/error.h"
#include "util/file_io.h"
#include "util/log.h"

using namespace h5swmrfs;

namespace {

[[noreturn]] void die(const std::string& line) {
    std::cerr << "h5swmrfs: error: " << line << std::endl;
    std::exit(1);
}

std::string canonical(const std::string& path) {
    char resolved[PATH_MAX];
    if (!::realpath(path.c_str(), resolved)) throw Error(errno, path + ": " + std::strerror(errno));
    return resolved;
}

void check_mountpoint(const std::string& mountpoint) {
    struct stat st {};
    if (::stat(mountpoint.c_str(), &st) != 0)
        throw Error(errno, "mount point " + mountpoint + ": " + std::strerror(errno));
    if (!S_ISDIR(st.st_mode)) throw Error(ENOTDIR, "mount point " + mountpoint + ": not a directory");
}

// SPEC §1: missing, not HDF5, unreadable, or not writable for a writable mount.
void check_file(const cli::Options& options, bool will_create) {
    if (will_create) {
        if (::access(util::directory_of(options.file).c_str(), W_OK) != 0)
            throw Error(errno, options.file + ": cannot create: " + std::strerror(errno));
        return;
    }
    struct stat st {};
    if (::stat(options.file.c_str(), &st) != 0) {
        if (errno == ENOENT) throw Error(ENOENT, options.file + ": no such file (--create makes a new one)");
        throw Error(errno, options.file + ": " + std::strerror(errno));
    }
    if (!S_ISREG(st.st_mode)) throw Error(EINVAL, options.file + ": not a regular file");
    if (::access(options.file.c_str(), R_OK) != 0) throw Error(EACCES, options.file + ": not readable");
    if (!options.read_only && ::access(options.file.c_str(), W_OK) != 0)
        throw Error(EACCES, options.file + ": not writable (mount it with -o ro to read it)");
    // A commit's journal and redo file live beside the file (h5/journal.h).
    const std::string directory = util::directory_of(options.file);
    if (!options.read_only && ::access(directory.c_str(), W_OK) != 0)
        throw Error(EACCES, directory + ": not writable, and commits keep their journal beside the file (mount it with -o ro to read it)");
    h5::check_is_hdf5(options.file);
}

int run(cli::Options options) {
    fs::Config config;
    config.read_only = options.read_only;
    // h5pySWMR's writers never wait for a mount to empty the kernel's caches (docs/LOCKING.md).
    // (Without --cache or --no-cache such a mount does not cache.)
    if (options.cache.value_or(false) && options.lock.backend == "h5pyswmr")
        throw Error(EINVAL, "--cache cannot be used with --lock h5pyswmr: h5pySWMR programs would not wait for "
                            "this mount to drop what the kernel cached");
    config.cache = options.cache.value_or(options.lock.backend != "h5pyswmr");
    config.direct = options.direct;
    config.threads = options.threads;
    config.chunk_cache_bytes = static_cast<std::size_t>(options.chunk_cache_mib) << 20;
    // A caching mount keeps its shared hold until someone needs the lock: letting it go
    // empties the kernel's caches (fs/kernel_cache.h).
    if (config.cache) options.lock.keep_idle = lock::Options::keep_forever;
    config.file = options.file;  // made canonical below, once it is known to exist
    // A reader left open keeps a writer elsewhere waiting at most a quarter of its patience.
    config.pin_grace = options.lock.timeout / 4;

    fs::Session session;
    session.fuse_options = options.fuse_options;
    session.debug = options.debug;
    session.foreground = options.foreground;
    session.single_thread = options.single_thread;
    session.auto_unmount = options.auto_unmount;

    // Everything that can be checked is checked before anything is mounted.
    fs::check_fuse_options(config, session);
    if (cli::is_dead_fuse_mount(options.mountpoint)) {
        // auto_unmount asks that this mount never outlive its daemon: a dead one left by
        // an earlier daemon goes too.
        if (!options.auto_unmount) throw Error(ENOTCONN, cli::dead_mount_advice(options.mountpoint));
        cli::clear_dead_mount(options.mountpoint);
        log::info("unmounted the dead FUSE mount on ", options.mountpoint);
    }
    check_mountpoint(options.mountpoint);
    const bool will_create = options.create && ::access(options.file.c_str(), F_OK) != 0 && errno == ENOENT;
    check_file(options, will_create);
    if (will_create && options.read_only) throw Error(EROFS, "--create needs a writable mount (drop -o ro)");
    config.file = lock::default_key(options.file);
    if (options.lock.key.empty()) options.lock.key = config.file;
    if (!options.redis_password_file.empty()) options.lock.redis_password = lock::read_password_file(options.redis_password_file);
    config.mountpoint = canonical(options.mountpoint);
    options.lock.holder_label = config.mountpoint;
    options.lock.local_lock_file = lock::sidecar_path(config.file);
    options.lock.data_file = config.file;

    // Bound now, so that a port already taken fails here, before the file is created;
    // served once daemonised.
    std::unique_ptr<metrics::HttpEndpoint> metrics_endpoint;
    if (!options.metrics.empty())
        metrics_endpoint = std::make_unique<metrics::HttpEndpoint>(metrics::parse_listen_address(options.metrics),
                                                                   metrics::registry());

    {
        // Checked with a lock that is dropped again before the fork of daemonising:
        // its threads would not survive it.
        std::unique_ptr<lock::Lock> probe = lock::make_lock(options.lock);
        probe->check_reachable();
        if (will_create) {
            auto hold = probe->acquire(lock::Mode::Exclusive);
            if (::access(config.file.c_str(), F_OK) != 0) h5::File::create(config.file);
            log::info("created ", config.file);
        }
    }

    session.lock_description = "lock " + options.lock.backend + ", key " + options.lock.key;
    if (metrics_endpoint) session.serve_metrics = [&] { metrics_endpoint->start(); };
    return fs::mount(config, session, [&] { return lock::make_lock(options.lock); });
}

// External and virtual datasets name their files relative to the HDF5 file, not
// to the daemon's working directory, unless the user says otherwise. HDF5 1.10
// reads these variables once, when the library starts, and does not expand
// "${ORIGIN}" in them: this runs before the first HDF5 call, with the directory.
void set_external_file_prefixes(const std::string& file) {
    std::string directory;
    try {
        directory = lock::default_key(file);
    } catch (const std::exception&) {
        return;  // the startup checks report the problem with the file
    }
    directory = util::directory_of(directory) + "/";
    ::setenv("HDF5_EXTFILE_PREFIX", directory.c_str(), 0);
    ::setenv("HDF5_VDS_PREFIX", directory.c_str(), 0);
}

}  // namespace

int main(int argc, char** argv) {
    cli::Options options;
    try {
        options = cli::parse(argc, argv);
    } catch (const std::exception& e) {
        die(e.what());
    }
    if (options.help) {
        std::cout << cli::usage(argv[0]);
        return 0;
    }
    if (options.version) {
        std::cout << "h5swmrfs " << H5SWMRFS_VERSION << " (libfuse " << fs::fuse_version() << ")\n";
        return 0;
    }
    log::set_level(options.debug ? log::Level::Debug : log::Level::Info);
    // Chunks of a megabyte or more are decoded into new buffers all the time: taken from the
    // heap and reused, not mapped fresh (and faulted in page by page) for each one.
    mallopt(M_MMAP_THRESHOLD, 64 << 20);
    mallopt(M_TRIM_THRESHOLD, 128 << 20);
    set_external_file_prefixes(options.file);
    h5::silence_library_errors();
    try {
        return run(std::move(options));
    } catch (const std::exception& e) {
        die(e.what());
    }
}
