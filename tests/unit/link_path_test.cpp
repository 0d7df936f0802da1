// Symlink text ↔ HDF5 link values: readlink's relative form of an absolute soft link,
// FILE::PATH for external links, and the link a symlink(2) target makes, checked against
// a plain POSIX resolution of the paths.
#include <catch2/catch.hpp>

#include <cerrno>
#include <string>
#include <vector>

#include "h5/link_path.h"
#include "util/error.h"

using h5swmrfs::Error;
using h5swmrfs::h5::external_target;
using h5swmrfs::h5::link_value_of;
using h5swmrfs::h5::LinkValue;
using h5swmrfs::h5::relative_target;

namespace {

const std::string kMount = "/mnt/h5";

// `path` resolved against the directory `from` (absolute) the way POSIX would, with no
// symlinks: "." and ".." components gone; "" when ".." climbs above the root.
std::string resolve(const std::string& from, const std::string& path) {
    std::string joined = path.starts_with('/') ? path : from + "/" + path;
    std::vector<std::string> parts;
    std::size_t at = 0;
    while (at <= joined.size()) {
        std::size_t next = joined.find('/', at);
        if (next == std::string::npos) next = joined.size();
        std::string part = joined.substr(at, next - at);
        if (part == "..") {
            if (parts.empty()) return "";
            parts.pop_back();
        } else if (!part.empty() && part != ".") {
            parts.push_back(part);
        }
        at = next + 1;
    }
    std::string out;
    for (const std::string& part : parts) out += "/" + part;
    return out.empty() ? "/" : out;
}

unsigned depth(const std::string& directory) {
    unsigned slashes = 0;
    for (char c : directory) slashes += c == '/';
    return directory == "/" ? 0 : slashes;
}

int error_of(const std::string& target, const std::string& directory) {
    try {
        link_value_of(target, directory, kMount);
        return 0;
    } catch (const Error& e) {
        return e.code();
    }
}

const std::vector<std::string> kDirectories = {"/", "/g", "/a/b", "/a/b/c", "/run1/x/y/z/w"};
const std::vector<std::string> kTargets = {"/",   "/g",         "/g/a",   "/a/b",   "/a/b/c/d",
                                           "/h/x", "/run1/temps", "/a/b/c", "/g/sub/", "/x/y/z/w/v"};

}  // namespace

TEST_CASE("relative_target climbs one .. per level, then names the target") {
    CHECK(relative_target("/a/b", 0) == "a/b");
    CHECK(relative_target("/a/b", 1) == "../a/b");
    CHECK(relative_target("/a/b", 3) == "../../../a/b");
    CHECK(relative_target("/g/b", 1) == "../g/b");
    CHECK(relative_target("/", 0) == ".");
    CHECK(relative_target("/", 1) == "..");
    CHECK(relative_target("/", 2) == "../..");
    CHECK(relative_target("//a", 1) == "../a");  // HDF5 takes "//a" for "/a"
}

TEST_CASE("relative_target from any directory resolves to the absolute target") {
    for (const std::string& directory : kDirectories)
        for (const std::string& target : kTargets) {
            const std::string text = relative_target(target, depth(directory));
            INFO(directory << " -> " << target << " shown as " << text);
            CHECK_FALSE(text.starts_with('/'));
            CHECK(resolve(directory, text) == resolve("/", target));
            // and from under the mount point, where the kernel resolves it
            CHECK(resolve(kMount + (directory == "/" ? "" : directory), text) ==
                  kMount + (resolve("/", target) == "/" ? "" : resolve("/", target)));
        }
}

TEST_CASE("an external link shows as FILE::PATH and that text makes the same link") {
    CHECK(external_target("ext.h5", "/ext_data") == "ext.h5::/ext_data");
    for (auto [file, path] : {std::pair<std::string, std::string>{"ext.h5", "/ext_data"},
                              {"../other.h5", "/a/b"},
                              {"/data/run 1.h5", "/"},
                              {"/mnt/h5/inside.h5", "/x"},
                              {"a.h5", "relative/path"},
                              {"a.h5", "b::c"}}) {
        INFO(file << " :: " << path);
        LinkValue value = link_value_of(external_target(file, path), "/g", kMount);
        CHECK(value.external);
        CHECK(value.file == file);
        CHECK(value.path == path);
    }
}

TEST_CASE("external link targets: the first :: splits, an empty path is the root") {
    LinkValue value = link_value_of("f.h5::", "/g", kMount);
    CHECK(value.external);
    CHECK(value.file == "f.h5");
    CHECK(value.path == "/");

    value = link_value_of("a::b::c", "", kMount);
    CHECK(value.external);
    CHECK(value.file == "a");
    CHECK(value.path == "b::c");

    // no file before the ::: a name, not an external link
    value = link_value_of("::x", "/g", kMount);
    CHECK_FALSE(value.external);
    CHECK(value.path == "::x");
}

TEST_CASE("an absolute target under the mount point becomes its HDF5 path") {
    auto path_of = [](const std::string& target) {
        LinkValue value = link_value_of(target, "/g", kMount);
        CHECK_FALSE(value.external);
        return value.path;
    };
    CHECK(path_of("/mnt/h5/a/b") == "/a/b");
    CHECK(path_of("/mnt/h5/a") == "/a");
    CHECK(path_of("/mnt/h5") == "/");
    CHECK(path_of("/mnt/h5/") == "/");
    CHECK(path_of("/mnt/h5//a/./b/") == "/a/b");
    CHECK(path_of("/mnt/h5/a/../b") == "/b");
    CHECK(path_of("/mnt/h5/a/..") == "/");
}

TEST_CASE("a target outside the mount is EINVAL") {
    for (const std::string target : {"/tmp/a", "/mnt", "/mnt/h", "/mnt/h5x", "/mnt/h5x/a", "/mnt/h5/..",
                                     "/mnt/h5/a/../..", "/mnt/h5/../h5/a"}) {
        INFO(target);
        CHECK(error_of(target, "/g") == EINVAL);
    }
    CHECK(error_of("..", "") == EINVAL);  // from the root
    CHECK(error_of("../..", "/g") == EINVAL);
    CHECK(error_of("../../../x", "/a/b") == EINVAL);
    CHECK(error_of("a/../../..", "/g") == EINVAL);
}

TEST_CASE("a plain relative target stays relative, for HDF5 to resolve from the link's group") {
    for (const std::string target : {"a", "a/b", "sub/data", ".hidden", "x.", "a/b/"}) {
        INFO(target);
        LinkValue value = link_value_of(target, "/g", kMount);
        CHECK_FALSE(value.external);
        CHECK(value.path == target);
    }
}

TEST_CASE("a relative target with . or .. is resolved against the link's directory") {
    auto path_of = [](const std::string& target, const std::string& directory) {
        return link_value_of(target, directory, kMount).path;
    };
    CHECK(path_of("../g/b", "/h") == "/g/b");  // README: ln -s ../g/b /mnt/h5/h/lb
    CHECK(path_of("./a", "/g") == "/g/a");
    CHECK(path_of("..", "/g") == "/");
    CHECK(path_of("a/../b", "/g") == "/g/b");
    CHECK(path_of("../../x", "/a/b/c") == "/a/x");
    CHECK(path_of("./a", "") == "/a");
    CHECK(path_of("../run3/temps", "/run1") == "/run3/temps");
    CHECK(path_of("a..b", "/g") == "/g/a..b");  // a name with "..", taken the long way
}

TEST_CASE("what readlink shows makes the same link again") {
    for (const std::string& directory : kDirectories)
        for (const std::string& target : kTargets) {
            const std::string text = relative_target(target, depth(directory));
            const std::string group = directory == "/" ? "" : directory;
            LinkValue value = link_value_of(text, group, kMount);
            INFO(directory << " -> " << target << " shown as " << text << ", made into " << value.path);
            CHECK_FALSE(value.external);
            // a relative path is resolved by HDF5 against the link's group
            CHECK(resolve(directory, value.path) == resolve("/", target));
            if (depth(directory) > 0) CHECK(value.path == resolve("/", target));
        }
}
