#include "cli/options.h"

#include <algorithm>
#include <cmath>
#include <cstdlib>
#include <optional>
#include <sstream>
#include <string_view>

#include "cli/mount_options.h"
#include "metrics/address.h"
#include "util/error.h"

namespace h5swmrfs::cli {
namespace {

std::chrono::milliseconds seconds(const std::string& option, const std::string& text) {
    char* end = nullptr;
    double value = std::strtod(text.c_str(), &end);
    if (text.empty() || *end != '\0' || !std::isfinite(value) || value <= 0 || value > 1e7)
        throw Error(EINVAL, option + ": expected a positive number of seconds, got '" + text + "'");
    return std::chrono::milliseconds(static_cast<long long>(std::llround(value * 1000)));
}

std::string backend(const std::string& option, const std::string& text) {
    if (text != "redis" && text != "local" && text != "h5pyswmr")
        throw Error(EINVAL, option + ": expected redis, local or h5pyswmr, got '" + text + "'");
    return text;
}

// A whole number in [low, high].
unsigned long long whole_number(const std::string& option, const std::string& text, unsigned long long low,
                                unsigned long long high, const std::string& what) {
    char* end = nullptr;
    errno = 0;
    const unsigned long long value = std::strtoull(text.c_str(), &end, 10);
    if (text.empty() || text[0] == '-' || *end != '\0' || errno == ERANGE || value < low || value > high)
        throw Error(EINVAL, option + ": expected " + what + " from " + std::to_string(low) + " to " +
                                std::to_string(high) + ", got '" + text + "'");
    return value;
}

// The long options that -o also takes (as "lock_key=K" for "--lock-key K").
struct LongOption {
    std::string_view name;
    bool takes_value;
};
constexpr LongOption long_options[] = {
    {"--redis", true}, {"--redis-password-file", true}, {"--lock", true}, {"--lock-key", true},
    {"--lease", true}, {"--lock-timeout", true},        {"--create", false}, {"--debug", false},
    {"--metrics", true}, {"--cache", false}, {"--no-cache", false},
    {"--threads", true}, {"--chunk-cache", true}, {"--direct", false}, {"--no-direct", false},
};

const LongOption* find_long_option(const std::string& name) {
    for (const LongOption& option : long_options)
        if (option.name == name) return &option;
    return nullptr;
}

// Sets the long option `name` from the command line or from -o; `shown` is the option as
// the user wrote it, for the error line.
void set_option(Options& options, const std::string& name, const std::string& shown,
                const std::optional<std::string>& value) {
    auto needs_value = [&]() -> const std::string& {
        if (!value) throw Error(EINVAL, shown + ": missing value");
        return *value;
    };
    auto no_value = [&] {
        if (value) throw Error(EINVAL, shown + ": takes no value");
    };
    if (name == "--redis") options.lock.redis_url = needs_value();
    else if (name == "--redis-password-file") options.redis_password_file = needs_value();
    else if (name == "--lock") options.lock.backend = backend(shown, needs_value());
    else if (name == "--lock-key") {
        options.lock.key = needs_value();
        if (options.lock.key.empty()) throw Error(EINVAL, shown + ": empty (leave it out for the default, FILE.h5's canonical path)");
    }
    else if (name == "--lease") options.lock.lease = seconds(shown, needs_value());
    else if (name == "--lock-timeout") options.lock.timeout = seconds(shown, needs_value());
    else if (name == "--metrics") { options.metrics = needs_value(); metrics::parse_listen_address(options.metrics); }
    else if (name == "--create") { no_value(); options.create = true; }
    else if (name == "--cache") { no_value(); options.cache = true; }
    else if (name == "--no-cache") { no_value(); options.cache = false; }
    else if (name == "--threads") options.threads = static_cast<unsigned>(whole_number(shown, needs_value(), 1, 4096, "a number of threads"));
    else if (name == "--chunk-cache") options.chunk_cache_mib = whole_number(shown, needs_value(), 0, 1u << 20, "MiB");
    else if (name == "--direct") { no_value(); options.direct = true; }
    else if (name == "--no-direct") { no_value(); options.direct = false; }
    else if (name == "--debug") { no_value(); options.debug = true; options.foreground = true; }
}

// One -o value, in order: an h5swmrfs option here means what its long form means.
void take_mount_options(Options& options, const std::string& text) {
    for (const MountOption& option : parse_mount_options(text)) {
        if (option.kind == MountOption::Kind::Fuse) {
            // The size of read requests is the daemon's: an answer must fit the pipe it
            // is spliced through (fs/fuse.h kMaxRead).
            if (option.name == "max_read" || option.name.starts_with("max_read="))
                throw Error(EINVAL, "-o " + option.name + ": the size of read requests is h5swmrfs's own (512 KiB)");
            options.fuse_options.push_back(option.name);
            continue;
        }
        const std::string shown = "-o " + option.name;
        auto no_value = [&] {
            if (option.value) throw Error(EINVAL, shown + ": takes no value");
        };
        if (option.name == "ro") { no_value(); options.read_only = true; }
        else if (option.name == "rw") { no_value(); options.read_only = false; }
        else if (option.name == "auto_unmount") { no_value(); options.auto_unmount = true; }
        else {
            std::string name = "--" + option.name;
            std::replace(name.begin(), name.end(), '_', '-');
            if (!find_long_option(name)) throw Error(EINVAL, "unknown option " + shown + " (see --help)");
            set_option(options, name, shown, option.value);
        }
    }
}

}  // namespace

Options parse(int argc, char** argv) {
    Options options;
    options.lock.redis_url = lock::default_redis_url();
    std::vector<std::string> positional;
    bool only_positional = false;

    for (int i = 1; i < argc; ++i) {
        std::string arg = argv[i];
        if (only_positional || arg.empty() || arg[0] != '-' || arg == "-") {
            positional.push_back(arg);
            continue;
        }
        if (arg == "--") {
            only_positional = true;
            continue;
        }
        // "--name=value" and "--name value" both work; so do "-o x" and "-ox".
        std::string name = arg, value;
        bool has_inline_value = false;
        if (arg.starts_with("--") && arg.find('=') != std::string::npos) {
            name = arg.substr(0, arg.find('='));
            value = arg.substr(arg.find('=') + 1);
            has_inline_value = true;
        } else if (arg.starts_with("-o") && arg.size() > 2) {
            name = "-o";
            value = arg.substr(2);
            has_inline_value = true;
        }
        auto take_value = [&]() -> std::string {
            if (has_inline_value) return value;
            if (i + 1 >= argc) throw Error(EINVAL, name + ": missing value");
            return argv[++i];
        };

        if (name == "-f") options.foreground = true;
        else if (name == "-d") { options.debug = true; options.foreground = true; }
        else if (name == "-s") options.single_thread = true;
        else if (name == "-h" || name == "--help") options.help = true;
        else if (name == "-V" || name == "--version") options.version = true;
        else if (name == "-o") take_mount_options(options, take_value());
        else if (const LongOption* option = find_long_option(name)) {
            std::optional<std::string> given;
            if (option->takes_value) given = take_value();
            else if (has_inline_value) given = value;
            set_option(options, name, name, given);
        } else {
            throw Error(EINVAL, "unknown option " + arg + " (see --help)");
        }
    }
    if (options.help || options.version) return options;

    if (positional.size() != 2)
        throw Error(EINVAL, positional.size() < 2 ? "expected FILE.h5 and MOUNTPOINT (see --help)"
                                                  : "unexpected argument '" + positional[2] + "'");
    options.file = positional[0];
    options.mountpoint = positional[1];
    return options;
}

std::string usage(const std::string& program) {
    std::ostringstream out;
    out << "usage: " << program << " [options] FILE.h5 MOUNTPOINT\n"
        << "\n"
        << "Mounts an HDF5 file: groups are directories, datasets files of their raw\n"
        << "elements, attributes extended attributes. Every operation runs under a\n"
        << "readers-writer lock shared by all mounts of the file.\n"
        << "\n"
        << "options:\n"
        << "  --redis URL                redis://[:PASSWORD@]HOST[:PORT][/DB] or unix:///PATH.sock[?db=N]\n"
        << "                             (default $H5SWMRFS_REDIS, else redis://127.0.0.1:6379/0)\n"
        << "  --redis-password-file F    read the redis password from F\n"
        << "  --lock redis|local|h5pyswmr  lock backend (default redis)\n"
        << "  --lock-key KEY             lock name (default: canonical path of FILE.h5)\n"
        << "  --lease SECONDS            lease of every lock hold (default 15)\n"
        << "  --lock-timeout SECONDS     how long an operation waits for the lock (default 60)\n"
        << "  --create                   create FILE.h5 if it does not exist\n"
        << "  --cache                    let the kernel cache pages, names and attributes while this\n"
        << "                             mount holds the lock shared (dropped before any change\n"
        << "                             elsewhere returns); read-only mappings work (the default,\n"
        << "                             but with --lock h5pyswmr)\n"
        << "  --no-cache                 the kernel caches nothing: every read, stat and lookup is\n"
        << "                             answered under the lock; no mappings\n"
        << "  --threads N                threads that decode chunks read past HDF5 (default: one per core)\n"
        << "  --chunk-cache MIB          decoded chunks kept per version of the file (default 256)\n"
        << "  --no-direct                read every dataset through HDF5, one call at a time\n"
        << "  --direct                   read what HDF5 would not convert straight from the file, on\n"
        << "                             --threads workers (the default)\n"
        << "  --metrics ADDR             serve Prometheus metrics at /metrics on ADDR: HOST:PORT with\n"
        << "                             HOST an IP address or localhost, [IPV6]:PORT, or unix:PATH\n"
        << "  -o ro                      read-only mount (-o rw: writable, the default)\n"
        << "  -o auto_unmount            unmount when the daemon dies; also clears a dead\n"
        << "                             FUSE mount left on MOUNTPOINT before mounting\n"
        << "  -o OPTION[,OPTION...]      other FUSE options (allow_other, ...)\n"
        << "  -f                         stay in the foreground\n"
        << "  -d, --debug                foreground, with debug logging\n"
        << "  -s                         single-threaded\n"
        << "  -V, --version              print the version\n"
        << "  -h, --help                 print this help\n"
        << "\n"
        << "Every long option but --help and --version is also a -o option, dashes as\n"
        << "underscores: -o redis=URL,lock_key=KEY,lease=15,create (as mount(8) and\n"
        << "/etc/fstab pass them). Given twice, the last one counts. What mount(8) adds\n"
        << "for itself (defaults, _netdev, nofail, noauto, user, x-*, comment=...) is ignored.\n";
    return out.str();
}

}  // namespace h5swmrfs::cli
