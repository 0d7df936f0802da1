// util/mounts: mountinfo lines, escapes and optional fields; paths made absolute as text.
#include <catch2/catch.hpp>

#include <unistd.h>

#include <climits>
#include <string>

#include "util/mounts.h"

using namespace h5swmrfs;

TEST_CASE("mountinfo: mount point, type and source, escapes decoded") {
    const auto entries = util::parse_mountinfo(
        "22 1 0:21 / /proc rw,nosuid,nodev,noexec,relatime shared:12 - proc proc rw\n"
        "98 29 0:52 / /tmp/my\\040mnt rw,nosuid,nodev,relatime shared:60 master:1 - fuse.h5swmrfs "
        "/data/a\\040b.h5 rw,user_id=0,group_id=0,default_permissions\n"
        "99 29 0:53 / /mnt/x rw - ext4 /dev/sda1 rw\n"
        "broken line\n"
        "100 29 0:54 / /mnt/back\\134slash rw - tmpfs tmpfs rw\n");
    REQUIRE(entries.size() == 4);
    CHECK(entries[0].mount_point == "/proc");
    CHECK(entries[0].type == "proc");
    CHECK(entries[1].mount_point == "/tmp/my mnt");
    CHECK(entries[1].type == "fuse.h5swmrfs");
    CHECK(entries[1].source == "/data/a b.h5");
    CHECK(entries[2].mount_point == "/mnt/x");
    CHECK(entries[2].source == "/dev/sda1");
    CHECK(entries[3].mount_point == "/mnt/back\\slash");
}

TEST_CASE("mountinfo of this process has its root") {
    bool root = false;
    for (const auto& entry : util::mounts()) root = root || entry.mount_point == "/";
    CHECK(root);
}

TEST_CASE("paths made absolute and normal without looking them up") {
    char cwd[PATH_MAX];
    REQUIRE(::getcwd(cwd, sizeof cwd));
    const std::string here = cwd;
    CHECK(util::lexically_absolute("/a/b/../c/./d/") == "/a/c/d");
    CHECK(util::lexically_absolute("/") == "/");
    CHECK(util::lexically_absolute("//a//b") == "/a/b");
    CHECK(util::lexically_absolute("x/y") == (here == "/" ? "" : here) + "/x/y");
    CHECK(util::lexically_absolute("/no/such/dir/../really") == "/no/such/really");
}
