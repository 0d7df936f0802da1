// util/proc: what /proc tells of processes, and of processes that are gone.
#include <catch2/catch.hpp>

#include <fcntl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <string>
#include <thread>

#include "util/fd.h"
#include "util/proc.h"

using namespace h5swmrfs;

namespace {

// A pid that was just used and is gone (its child exited and was reaped).
pid_t gone_pid() {
    const pid_t child = ::fork();
    if (child == 0) ::_exit(0);
    int status = 0;
    ::waitpid(child, &status, 0);
    return child;
}

struct TempFile {
    std::string path;
    TempFile() {
        char name[] = "/tmp/h5swmrfs-proc-test-XXXXXX";
        util::Fd fd(::mkstemp(name));
        REQUIRE(fd);
        path = name;
    }
    ~TempFile() { ::unlink(path.c_str()); }
};

}  // namespace

TEST_CASE("processes and parents") {
    const auto all = util::all_processes();
    CHECK(std::find(all.begin(), all.end(), ::getpid()) != all.end());
    CHECK(std::find(all.begin(), all.end(), ::getppid()) != all.end());
    CHECK(util::parent_of(::getpid()) == ::getppid());
    CHECK(util::parent_of(gone_pid()) == 0);
}

TEST_CASE("the process of a thread") {
    CHECK(util::process_of_thread(::getpid()) == ::getpid());
    pid_t seen = -1;
    std::thread([&] { seen = util::process_of_thread(static_cast<pid_t>(::syscall(SYS_gettid))); }).join();
    CHECK(seen == ::getpid());
    CHECK(util::process_of_thread(gone_pid()) == 0);
}

TEST_CASE("open for writing") {
    TempFile file;
    struct statx stx {};
    REQUIRE(::statx(AT_FDCWD, file.path.c_str(), 0, STATX_INO | STATX_MNT_ID, &stx) == 0);
    REQUIRE((stx.stx_mask & STATX_MNT_ID));
    const auto mount = static_cast<long long>(stx.stx_mnt_id);
    const auto ino = static_cast<ino_t>(stx.stx_ino);
    CHECK_FALSE(util::has_open_for_writing(::getpid(), mount, ino));
    {
        util::Fd reading(::open(file.path.c_str(), O_RDONLY));
        REQUIRE(reading);
        CHECK_FALSE(util::has_open_for_writing(::getpid(), mount, ino));
    }
    for (int flags : {O_WRONLY, O_RDWR, O_WRONLY | O_APPEND}) {
        util::Fd writing(::open(file.path.c_str(), flags));
        REQUIRE(writing);
        CHECK(util::has_open_for_writing(::getpid(), mount, ino));
        CHECK_FALSE(util::has_open_for_writing(::getpid(), mount, ino + 1));
        CHECK_FALSE(util::has_open_for_writing(::getpid(), mount + 1, ino));
    }
    CHECK_FALSE(util::has_open_for_writing(gone_pid(), mount, ino));
    {
        // Its name gone (its /proc/PID/fd link then reads "... (deleted)"), it is still open.
        util::Fd writing(::open(file.path.c_str(), O_WRONLY));
        REQUIRE(writing);
        REQUIRE(::unlink(file.path.c_str()) == 0);
        CHECK(util::has_open_for_writing(::getpid(), mount, ino));
        util::Fd again(::open(file.path.c_str(), O_CREAT | O_WRONLY, 0600));  // for TempFile to remove
    }
}

TEST_CASE("entries of a directory that is not there") {
    CHECK(util::entries_of("/proc/0/fd").empty());
    CHECK(util::entries_of("/nonexistent/directory").empty());
    CHECK_FALSE(util::entries_of("/proc/self/fd").empty());
}
