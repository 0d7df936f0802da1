// util/proc: what /proc tells of processes, and of processes that are gone.
#include <catch2/catch.hpp>

#include <fcntl.h>
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
    CHECK_FALSE(util::has_open_for_writing(::getpid(), file.path));
    {
        util::Fd reading(::open(file.path.c_str(), O_RDONLY));
        REQUIRE(reading);
        CHECK_FALSE(util::has_open_for_writing(::getpid(), file.path));
    }
    for (int flags : {O_WRONLY, O_RDWR, O_WRONLY | O_APPEND}) {
        util::Fd writing(::open(file.path.c_str(), flags));
        REQUIRE(writing);
        CHECK(util::has_open_for_writing(::getpid(), file.path));
        CHECK_FALSE(util::has_open_for_writing(::getpid(), file.path + "x"));
    }
    CHECK_FALSE(util::has_open_for_writing(gone_pid(), file.path));
}

TEST_CASE("entries of a directory that is not there") {
    CHECK(util::entries_of("/proc/0/fd").empty());
    CHECK(util::entries_of("/nonexistent/directory").empty());
    CHECK_FALSE(util::entries_of("/proc/self/fd").empty());
}
