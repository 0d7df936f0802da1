// The inode table: numbers from header addresses (the root is 1), symlink numbers from
// (directory, name) with probing past a taken number, lookup counts and forget, ESTALE for
// a number this mount does not know (any more), and paths moved by renames.
#include <catch2/catch.hpp>

#include <cerrno>
#include <set>
#include <string>

#include "fs/inodes.h"
#include "h5/link_path.h"
#include "util/error.h"

using h5swmrfs::Error;
using h5swmrfs::fs::base_name;
using h5swmrfs::fs::child_path;
using h5swmrfs::fs::depth_of;
using h5swmrfs::fs::InodeTable;
using h5swmrfs::fs::is_symlink;
using h5swmrfs::fs::Node;
using h5swmrfs::fs::parent_path;
using h5swmrfs::h5::Kind;

namespace {

constexpr haddr_t kRoot = 96;
constexpr fuse_ino_t kLinkBit = fuse_ino_t{1} << 63;

Node object(haddr_t address, const std::string& path, Kind kind = Kind::Dataset, std::uint64_t seen = 0) {
    return Node{kind, address, HADDR_UNDEF, path, seen};
}

Node symlink(haddr_t directory, const std::string& path, std::uint64_t seen = 0) {
    return Node{Kind::SoftLink, HADDR_UNDEF, directory, path, seen};
}

// The errno get(ino) fails with, 0 when it does not.
int error_of_get(const InodeTable& table, fuse_ino_t ino) {
    try {
        table.get(ino);
        return 0;
    } catch (const Error& e) {
        return e.code();
    }
}

}  // namespace

TEST_CASE("the root is inode 1, keeps its path and is never forgotten") {
    InodeTable table;
    table.set_root(kRoot);
    CHECK(table.ino_of_object(kRoot) == FUSE_ROOT_ID);
    Node root = table.get(FUSE_ROOT_ID);
    CHECK(root.kind == Kind::Group);
    CHECK(root.address == kRoot);
    CHECK(root.path == "/");

    // reached again through a hard link elsewhere: still 1, still "/"
    CHECK(table.remember(object(kRoot, "/a/root_again", Kind::Group)) == FUSE_ROOT_ID);
    CHECK(table.get(FUSE_ROOT_ID).path == "/");

    table.forget(FUSE_ROOT_ID, 1000);
    CHECK(error_of_get(table, FUSE_ROOT_ID) == 0);
    CHECK(table.get(FUSE_ROOT_ID).path == "/");
}

TEST_CASE("an object's number is its header address + 2, shared by its hard links") {
    InodeTable table;
    table.set_root(kRoot);
    CHECK(table.ino_of_object(2048) == 2050);
    CHECK(table.ino_of_object(0) == 2);  // never 1: that is the root's
    CHECK(table.ino_of_object(kRoot + 1) == kRoot + 3);

    const fuse_ino_t ino = table.remember(object(2048, "/a/data"));
    CHECK(ino == 2050);
    CHECK(table.ino_of(object(2048, "/a/data")) == ino);
    CHECK(table.remember(object(2048, "/b/hard")) == ino);
    CHECK(table.get(ino).path == "/b/hard");  // where the kernel last found it
    CHECK(table.remember(object(4096, "/c")) == 4098);
    CHECK(table.get(4098).address == 4096);
    CHECK(table.get(ino).address == 2048);
}

TEST_CASE("an inode lives until the kernel forgets every lookup") {
    InodeTable table;
    table.set_root(kRoot);
    const Node node = object(2048, "/a");
    const fuse_ino_t ino = table.remember(node);
    table.remember(node);
    table.remember(node);

    table.forget(ino, 2);
    CHECK(table.get(ino).path == "/a");
    table.forget(ino, 1);
    CHECK(error_of_get(table, ino) == ESTALE);

    // a count past the lookups forgets it, and leaves no debt for the next lookup
    table.remember(node);
    table.forget(ino, 5);
    CHECK(error_of_get(table, ino) == ESTALE);
    table.remember(node);
    CHECK(error_of_get(table, ino) == 0);
    table.forget(ino, 1);
    CHECK(error_of_get(table, ino) == ESTALE);

    table.forget(ino, 1);       // already forgotten: nothing happens
    table.forget(123'456, 1);   // never given out: nothing happens
    CHECK(error_of_get(table, FUSE_ROOT_ID) == 0);
}

TEST_CASE("get of a number this mount never gave out is ESTALE") {
    InodeTable table;
    table.set_root(kRoot);
    CHECK(error_of_get(table, 2050) == ESTALE);
    CHECK(error_of_get(table, 0) == ESTALE);
    CHECK(error_of_get(table, InodeTable::ino_of_link(kRoot, "l")) == ESTALE);
    table.remember(object(2048, "/a"));
    CHECK(error_of_get(table, 2049) == ESTALE);
    CHECK(error_of_get(table, 2051) == ESTALE);
}

TEST_CASE("a symlink's number has the top bit and depends on its directory and name") {
    const fuse_ino_t ino = InodeTable::ino_of_link(4096, "l");
    CHECK((ino & kLinkBit) != 0);
    CHECK(InodeTable::ino_of_link(4096, "l") == ino);  // no table: readdir and lookup agree

    std::set<fuse_ino_t> seen{ino};
    for (const char* name : {"", "m", "ll", "L", "l ", "lm", "ml"}) seen.insert(InodeTable::ino_of_link(4096, name));
    CHECK(seen.size() == 8);
    // every byte of the directory address counts
    std::set<fuse_ino_t> by_directory;
    for (int byte = 0; byte < 8; ++byte) by_directory.insert(InodeTable::ino_of_link(haddr_t{1} << (8 * byte), "l"));
    by_directory.insert(InodeTable::ino_of_link(0, "l"));
    CHECK(by_directory.size() == 9);
    for (fuse_ino_t number : by_directory) CHECK((number & kLinkBit) != 0);

    InodeTable table;
    table.set_root(kRoot);
    const Node link = symlink(4096, "/g/l");
    CHECK(table.ino_of(link) == ino);
    CHECK(table.ino_of(Node{Kind::ExternalLink, HADDR_UNDEF, 4096, "/g/l", 0}) == ino);
    CHECK(table.remember(link) == ino);
    CHECK(table.remember(link) == ino);
    Node got = table.get(ino);
    CHECK(got.kind == Kind::SoftLink);
    CHECK(got.directory == 4096);
    CHECK(got.path == "/g/l");
    table.forget(ino, 1);
    CHECK(error_of_get(table, ino) == 0);
    table.forget(ino, 1);
    CHECK(error_of_get(table, ino) == ESTALE);
}

// Two (directory, name) pairs with the same 63-bit hash are out of reach to find; an object
// whose header address gives it the same number takes the place just as well.
TEST_CASE("a symlink whose number is taken probes to the next free one, and keeps it") {
    InodeTable table;
    table.set_root(kRoot);
    const Node link = symlink(4096, "/g/l");
    const fuse_ino_t hashed = InodeTable::ino_of_link(4096, "l");
    REQUIRE((hashed & ~kLinkBit) < (~kLinkBit) - 4);  // so the numbers below do not wrap

    // the first at the link's own path (a dataset the link replaced, still known to the kernel)
    CHECK(table.remember(object(hashed - 2, "/g/l")) == hashed);
    CHECK(table.remember(object(hashed - 1, "/second")) == hashed + 1);
    const fuse_ino_t probed = table.remember(link);
    CHECK(probed == hashed + 2);
    CHECK(table.get(probed).kind == Kind::SoftLink);
    CHECK(table.get(probed).path == "/g/l");
    CHECK(table.get(hashed).kind == Kind::Dataset);
    CHECK(table.get(hashed).address == hashed - 2);
    CHECK(table.get(hashed + 1).path == "/second");

    // the same link again finds its own entry, not a new one
    CHECK(table.remember(link) == probed);
    CHECK(table.get(probed).path == "/g/l");

    table.forget(probed, 1);
    CHECK(error_of_get(table, probed) == 0);
    table.forget(probed, 1);
    CHECK(error_of_get(table, probed) == ESTALE);
    CHECK(table.get(hashed).kind == Kind::Dataset);
    CHECK(table.get(hashed + 1).path == "/second");
}

TEST_CASE("a rename moves the paths of everything below it, and only that") {
    InodeTable table;
    table.set_root(kRoot);
    const std::uint64_t g = 7;
    const fuse_ino_t a = table.remember(object(100, "/a", Kind::Group, g));
    const fuse_ino_t x = table.remember(object(200, "/a/x", Kind::Group, g));
    const fuse_ino_t y = table.remember(object(300, "/a/x/y", Kind::Dataset, g));
    const fuse_ino_t ab = table.remember(object(400, "/ab", Kind::Dataset, g));
    const fuse_ino_t b = table.remember(object(500, "/b/a", Kind::Dataset, g));
    const fuse_ino_t l = table.remember(symlink(100, "/a/l", g));
    const fuse_ino_t old = table.remember(object(600, "/a/x/old", Kind::Dataset, g - 3));

    table.move_paths("/a", "/c/d", g + 1);
    CHECK(table.get(a).path == "/c/d");
    CHECK(table.get(x).path == "/c/d/x");
    CHECK(table.get(y).path == "/c/d/x/y");
    CHECK(table.get(l).path == "/c/d/l");
    CHECK(table.get(old).path == "/c/d/x/old");
    CHECK(table.get(ab).path == "/ab");    // a sibling with the same prefix
    CHECK(table.get(b).path == "/b/a");    // the same name elsewhere
    CHECK(table.get(FUSE_ROOT_ID).path == "/");
    // seen in the generation just before the rename: the moved path is as good as seen now
    CHECK(table.get(a).seen == g + 1);
    CHECK(table.get(y).seen == g + 1);
    CHECK(table.get(old).seen == g - 3);  // older: another mount may have changed more since
    CHECK(table.get(ab).seen == g);

    table.move_paths("/c/d/x", "/x", g + 5);  // another generation came between
    CHECK(table.get(x).path == "/x");
    CHECK(table.get(y).path == "/x/y");
    CHECK(table.get(x).seen == g + 1);
    CHECK(table.get(a).path == "/c/d");
}

TEST_CASE("path helpers") {
    CHECK(base_name("/a/b") == "b");
    CHECK(base_name("/a") == "a");
    CHECK(base_name("/") == "");
    CHECK(parent_path("/a/b/c") == "/a/b");
    CHECK(parent_path("/a") == "/");
    CHECK(parent_path("/") == "/");
    CHECK(depth_of("/") == 0);
    CHECK(depth_of("/a") == 1);
    CHECK(depth_of("/a/b") == 2);
    CHECK(depth_of("/a/b/c") == 3);
    CHECK(child_path("/", "a") == "/a");
    CHECK(child_path("/a", "b") == "/a/b");
    CHECK(parent_path(child_path("/a/b", "c")) == "/a/b");
    CHECK(base_name(child_path("/", "c")) == "c");
    CHECK(is_symlink(Kind::SoftLink));
    CHECK(is_symlink(Kind::ExternalLink));
    CHECK_FALSE(is_symlink(Kind::Group));
    CHECK_FALSE(is_symlink(Kind::Dataset));
    CHECK_FALSE(is_symlink(Kind::Other));
}

// What readlink shows for the symlink at `path` to the absolute HDF5 path "/x/y" (as the
// tree's readlink computes it): from the directory that holds the link.
TEST_CASE("a symlink's text is relative to the directory that holds it") {
    auto shown = [](const std::string& path) {
        return h5swmrfs::h5::relative_target("/x/y", depth_of(parent_path(path)));
    };
    CHECK(shown("/l") == "x/y");
    CHECK(shown("/a/l") == "../x/y");
    CHECK(shown("/a/b/l") == "../../x/y");
}
