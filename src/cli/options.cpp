#include "cli/options.h"

#include <cmath>
#include <cstdlib>
#include <sstream>

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

// Splits "-o a,b\,c" into its options, keeping escaped commas.
std::vector<std::string> split_options(const std::string& text) {
    std::vector<std::string> out(1);
    for (std::size_t i = 0; i < text.size(); ++i) {
        if (text[i] == '\\' && i + 1 < text.size()) {
            out.back() += text.substr(i, 2);
            ++i;
        } else if (text[i] == ',') {
            out.emplace_back();
        } else {
            out.back() += text[i];
        }
    }
    return out;
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
        auto no_value = [&] {
            if (has_inline_value) throw Error(EINVAL, name + ": takes no value");
        };

        if (name == "--redis") options.lock.redis_url = take_value();
        else if (name == "--redis-password-file") options.redis_password_file = take_value();
        else if (name == "--lock") options.lock.backend = take_value();
        else if (name == "--lock-key") options.lock.key = take_value();
        else if (name == "--lease") options.lock.lease = seconds(name, take_value());
        else if (name == "--lock-timeout") options.lock.timeout = seconds(name, take_value());
        else if (name == "--metrics") { options.metrics = take_value(); metrics::parse_listen_address(options.metrics); }
        else if (name == "--create") { no_value(); options.create = true; }
        else if (name == "-f") options.foreground = true;
        else if (name == "-d" || name == "--debug") { options.debug = true; options.foreground = true; }
        else if (name == "-s") options.single_thread = true;
        else if (name == "-h" || name == "--help") options.help = true;
        else if (name == "-V" || name == "--version") options.version = true;
        else if (name == "-o") {
            for (const std::string& option : split_options(take_value())) {
                if (option.empty()) continue;
                if (option == "ro") options.read_only = true;
                else if (option == "rw") options.read_only = false;
                else options.fuse_options.push_back(option);
            }
        } else {
            throw Error(EINVAL, "unknown option " + arg + " (see --help)");
        }
    }
    if (options.help || options.version) return options;

    if (options.lock.backend != "redis" && options.lock.backend != "local" && options.lock.backend != "h5pyswmr")
        throw Error(EINVAL, "--lock: expected redis, local or h5pyswmr, got '" + options.lock.backend + "'");
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
        << "  --metrics ADDR             serve Prometheus metrics at /metrics on ADDR: HOST:PORT with\n"
        << "                             HOST an IP address or localhost, [IPV6]:PORT, or unix:PATH\n"
        << "  -o ro                      read-only mount; other -o options go to FUSE\n"
        << "  -f                         stay in the foreground\n"
        << "  -d, --debug                foreground, with debug logging\n"
        << "  -s                         single-threaded\n"
        << "  -V, --version              print the version\n"
        << "  -h, --help                 print this help\n";
    return out.str();
}

}  // namespace h5swmrfs::cli
