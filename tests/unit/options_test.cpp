// The command line: every long option also as a -o word (as mount(8) and fstab give
// them), the same checks for both spellings, the last one given counting, the words
// mount(8) adds ignored, and everything else left to FUSE.
#include <catch2/catch.hpp>

#include <cerrno>
#include <chrono>
#include <string>
#include <vector>

#include "cli/options.h"
#include "error_code.h"
#include "util/error.h"

using h5swmrfs::Error;
using h5swmrfs::cli::Options;
using namespace std::chrono_literals;

namespace {

Options parse(std::vector<std::string> args) {
    args.insert(args.begin(), "h5swmrfs");
    std::vector<char*> argv;
    for (std::string& arg : args) argv.push_back(arg.data());
    argv.push_back(nullptr);
    return h5swmrfs::cli::parse(static_cast<int>(args.size()), argv.data());
}

// The error line parse() throws, "" when it accepts.
std::string refusal(const std::vector<std::string>& args) {
    try {
        parse(args);
    } catch (const Error& e) {
        CHECK(e.code() == EINVAL);
        return e.what();
    }
    return "";
}

}  // namespace

TEST_CASE("each long option has a -o spelling with the same meaning") {
    const Options by_long = parse({"--redis", "redis://h:1/2", "--redis-password-file", "/p w", "--lock", "local",
                                   "--lock-key", "k,ey", "--lease", "2.5", "--lock-timeout", "7", "--create", "f.h5", "m"});
    const Options by_o = parse({"-o", "redis=redis://h:1/2,redis_password_file=/p w,lock=local,lock_key=k\\,ey,lease=2.5,"
                                      "lock_timeout=7,create",
                                "f.h5", "m"});
    for (const Options* o : {&by_long, &by_o}) {
        CHECK(o->lock.redis_url == "redis://h:1/2");
        CHECK(o->redis_password_file == "/p w");
        CHECK(o->lock.backend == "local");
        CHECK(o->lock.key == "k,ey");
        CHECK(o->lock.lease == 2500ms);
        CHECK(o->lock.timeout == 7s);
        CHECK(o->create);
        CHECK(o->fuse_options.empty());
        CHECK(o->file == "f.h5");
        CHECK(o->mountpoint == "m");
    }
}

TEST_CASE("-o debug is --debug: foreground with debug logging") {
    const Options o = parse({"-o", "debug", "f", "m"});
    CHECK(o.debug);
    CHECK(o.foreground);
    CHECK(o.fuse_options.empty());
}

TEST_CASE("the last of a long option and its -o spelling counts") {
    CHECK(parse({"--lease", "3", "-o", "lease=4", "f", "m"}).lock.lease == 4s);
    CHECK(parse({"-o", "lease=4", "--lease", "3", "f", "m"}).lock.lease == 3s);
    CHECK(parse({"-o", "lease=4,lease=5", "f", "m"}).lock.lease == 5s);
    CHECK(parse({"-olock=local", "--lock=redis", "f", "m"}).lock.backend == "redis");
    CHECK(parse({"-o", "ro,rw", "f", "m"}).read_only == false);
    CHECK(parse({"-o", "rw", "-o", "ro", "f", "m"}).read_only == true);
}

TEST_CASE("a -o value is checked as its long form is") {
    CHECK(refusal({"--lease", "abc", "f", "m"}) == "--lease: expected a positive number of seconds, got 'abc'");
    CHECK(refusal({"-o", "lease=abc", "f", "m"}) == "-o lease: expected a positive number of seconds, got 'abc'");
    CHECK(refusal({"-o", "lock_timeout=-1", "f", "m"}) == "-o lock_timeout: expected a positive number of seconds, got '-1'");
    CHECK(refusal({"-o", "lease=", "f", "m"}) == "-o lease: expected a positive number of seconds, got ''");
    CHECK(refusal({"--lock", "nfs", "f", "m"}) == "--lock: expected redis, local or h5pyswmr, got 'nfs'");
    CHECK(refusal({"-o", "lock=nfs", "f", "m"}) == "-o lock: expected redis, local or h5pyswmr, got 'nfs'");
    CHECK(refusal({"-o", "redis", "f", "m"}) == "-o redis: missing value");
    CHECK(refusal({"-o", "lock_key", "f", "m"}) == "-o lock_key: missing value");
    CHECK(refusal({"-o", "create=yes", "f", "m"}) == "-o create: takes no value");
    CHECK(refusal({"--create=yes", "f", "m"}) == "--create: takes no value");
    CHECK(refusal({"-o", "ro=1", "f", "m"}) == "-o ro: takes no value");
    CHECK(refusal({"-o", "auto_unmount=1", "f", "m"}) == "-o auto_unmount: takes no value");
    CHECK(refusal({"--lease", "f", "m"}).find("expected a positive number") != std::string::npos);
    CHECK(refusal({"--nonsense", "f", "m"}) == "unknown option --nonsense (see --help)");
    CHECK(refusal({"--nonsense"}) == "unknown option --nonsense (see --help)");
    CHECK(refusal({"-o"}) == "-o: missing value");
}

TEST_CASE("what mount(8) adds for itself is ignored") {
    const Options o = parse({"-o",
                             "defaults,auto,noauto,user,nouser,users,owner,group,_netdev,nofail,comment=systemd.automount,"
                             "x-systemd.automount,x-systemd.device-timeout=10,x-gvfs-show,X-mount.mkdir,,rw",
                             "f", "m"});
    CHECK(o.fuse_options.empty());
    CHECK_FALSE(o.read_only);
}

TEST_CASE("ro means read-only, wherever it comes") {
    CHECK(parse({"-o", "ro", "f", "m"}).read_only);
    CHECK(parse({"-o", "rw,noexec,nosuid,nodev,ro,redis=redis://h/0", "f", "m"}).read_only);
    CHECK(parse({"-oro", "f", "m"}).read_only);
}

TEST_CASE("other words go to FUSE, escaped for its -o") {
    const Options o = parse({"-o", "allow_other,max_background=4,dev,suid,user=joe,fsname=a\\,b\\\\c", "-o", "auto_unmount", "f", "m"});
    CHECK(o.fuse_options == std::vector<std::string>{"allow_other", "max_background=4", "dev", "suid", "user=joe", "fsname=a\\,b\\\\c"});
    CHECK(o.auto_unmount);
}

TEST_CASE("max_read is refused: read requests are the daemon's size, to fit its splice pipe") {
    CHECK(h5swmrfs::test::error_code_of([] { parse({"-o", "allow_other,max_read=4096", "f", "m"}); }) == EINVAL);
    CHECK(h5swmrfs::test::error_code_of([] { parse({"-o", "max_read", "f", "m"}); }) == EINVAL);
}

TEST_CASE("a word that only starts like an option of ours is not one") {
    const Options o = parse({"-o", "redisx=1,lockdown,creates", "f", "m"});
    CHECK(o.fuse_options == std::vector<std::string>{"redisx=1", "lockdown", "creates"});
}

TEST_CASE("mount.fuse3's argument order: FILE MOUNTPOINT -o OPTIONS") {
    const Options o = parse({"/data/run.h5", "/mnt/h5", "-o", "rw,redis=redis://lockhost/0,dev,suid"});
    CHECK(o.file == "/data/run.h5");
    CHECK(o.mountpoint == "/mnt/h5");
    CHECK(o.lock.redis_url == "redis://lockhost/0");
    CHECK(o.fuse_options == std::vector<std::string>{"dev", "suid"});
}

TEST_CASE("--threads, --chunk-cache and --direct, also as -o words") {
    Options defaults = parse({"f.h5", "mnt"});
    CHECK(defaults.direct);
    CHECK(defaults.threads == 0);
    CHECK(defaults.chunk_cache_mib == 256);
    Options given = parse({"--threads", "8", "--chunk-cache=64", "--no-direct", "f.h5", "mnt"});
    CHECK(given.threads == 8);
    CHECK(given.chunk_cache_mib == 64);
    CHECK_FALSE(given.direct);
    Options words = parse({"f.h5", "mnt", "-o", "threads=3,chunk_cache=0,no_direct,direct"});
    CHECK(words.threads == 3);
    CHECK(words.chunk_cache_mib == 0);
    CHECK(words.direct);
    CHECK(refusal({"--threads", "0", "f.h5", "mnt"}) == "--threads: expected a number of threads from 1 to 4096, got '0'");
    CHECK(refusal({"-o", "threads=-2", "f.h5", "mnt"}) == "-o threads: expected a number of threads from 1 to 4096, got '-2'");
    CHECK(refusal({"--chunk-cache", "1x", "f.h5", "mnt"}) == "--chunk-cache: expected MiB from 0 to 1048576, got '1x'");
    CHECK(refusal({"--no-direct=1", "f.h5", "mnt"}) == "--no-direct: takes no value");
}
