// link_target() on links stored in a real file: soft links, absolute (shown relative to the
// link's directory) and relative (shown as stored), external links as FILE::PATH; and the
// links symlink(2) makes from a target text show that text's meaning again.
#include <catch2/catch.hpp>

#include <cerrno>
#include <string>

#include "h5/link_path.h"
#include "h5/tree.h"
#include "support.h"
#include "util/error.h"

using h5swmrfs::Error;
using h5swmrfs::h5::check;
using h5swmrfs::h5::checked;
using h5swmrfs::h5::link_target;
using h5test::Id;

namespace {

Id group(hid_t parent, const char* name) {
    return checked(H5Gcreate2(parent, name, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT), std::string("create ") + name);
}

Id open_group(hid_t file, const char* path) { return checked(H5Gopen2(file, path, H5P_DEFAULT), path); }

void soft(hid_t parent, const char* name, const char* target) {
    check(H5Lcreate_soft(target, parent, name, H5P_DEFAULT, H5P_DEFAULT), std::string("link ") + name);
}

int error_of(hid_t parent, const std::string& name) {
    try {
        link_target(parent, name, 0);
        return 0;
    } catch (const Error& e) {
        return e.code();
    }
}

}  // namespace

TEST_CASE("link_target shows stored soft and external links") {
    h5test::TempDir dir;
    const auto path = dir.path() / "links.h5";
    {
        Id file = h5test::create_file(path);
        Id a = group(file.get(), "a");
        Id b = group(a.get(), "b");
        soft(file.get(), "top", "/a/b");
        soft(file.get(), "top_rel", "a/b");
        soft(a.get(), "up", "/x");
        soft(b.get(), "deep", "/x/y");  // dangling: a link all the same
        soft(b.get(), "root", "/");
        soft(a.get(), "rel", "sib/data");
        check(H5Lcreate_external("ext.h5", "/ext_data", b.get(), "ext", H5P_DEFAULT, H5P_DEFAULT), "external");
        check(H5Lcreate_external("../other dir/f.h5", "/", file.get(), "ext_root", H5P_DEFAULT, H5P_DEFAULT),
              "external");
        Id space = checked(H5Screate(H5S_SCALAR), "space");
        checked(H5Dcreate2(a.get(), "ds", H5T_NATIVE_INT, space.get(), H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT),
                "dataset");
    }
    Id file = h5test::open_file(path);
    Id root = open_group(file.get(), "/");
    Id a = open_group(file.get(), "/a");
    Id b = open_group(file.get(), "/a/b");

    CHECK(link_target(root.get(), "top", 0) == "a/b");
    CHECK(link_target(root.get(), "top_rel", 0) == "a/b");
    CHECK(link_target(a.get(), "up", 1) == "../x");
    CHECK(link_target(b.get(), "deep", 2) == "../../x/y");
    CHECK(link_target(b.get(), "root", 2) == "../..");
    CHECK(link_target(a.get(), "rel", 1) == "sib/data");  // relative: as stored, whatever the depth
    CHECK(link_target(a.get(), "rel", 3) == "sib/data");
    CHECK(link_target(b.get(), "ext", 2) == "ext.h5::/ext_data");
    CHECK(link_target(root.get(), "ext_root", 0) == "../other dir/f.h5::/");

    CHECK(error_of(a.get(), "ds") == EINVAL);  // a hard link is no symlink
    CHECK(error_of(root.get(), "a") == EINVAL);
    CHECK(error_of(a.get(), "missing") != 0);
}

TEST_CASE("a symlink made from a target text reads back as a path to the same place") {
    const std::string mount = "/mnt/h5";
    h5test::TempDir dir;
    const auto path = dir.path() / "made.h5";
    {
        Id file = h5test::create_file(path);
        Id g = group(file.get(), "g");
        Id h = group(file.get(), "h");
        Id sub = group(h.get(), "sub");
        struct Case {
            hid_t parent;
            const char* directory;  // the link's group, "" for the root
            const char* name;
            const char* target;
        } cases[] = {
            {h.get(), "/h", "lb", "../g/b"},
            {g.get(), "/g", "la", "a"},
            {sub.get(), "/h/sub", "abs", "/mnt/h5/g/a"},
            {sub.get(), "/h/sub", "dots", "./../../g/./c"},
            {file.get(), "", "top", "/mnt/h5/h/sub"},
            {g.get(), "/g", "ext", "ext.h5::/ext_data"},
        };
        for (const Case& c : cases) {
            auto value = h5swmrfs::h5::link_value_of(c.target, c.directory, mount);
            if (value.external)
                h5swmrfs::h5::create_external_link(c.parent, c.name, value.file, value.path);
            else
                h5swmrfs::h5::create_soft_link(c.parent, c.name, value.path);
        }
    }
    Id file = h5test::open_file(path);
    Id root = open_group(file.get(), "/");
    Id g = open_group(file.get(), "/g");
    Id h = open_group(file.get(), "/h");
    Id sub = open_group(file.get(), "/h/sub");
    CHECK(link_target(h.get(), "lb", 1) == "../g/b");  // README: ln -s ../g/b /mnt/h5/h/lb
    CHECK(link_target(g.get(), "la", 1) == "a");
    CHECK(link_target(sub.get(), "abs", 2) == "../../g/a");
    CHECK(link_target(sub.get(), "dots", 2) == "../../g/c");
    CHECK(link_target(root.get(), "top", 0) == "h/sub");
    CHECK(link_target(g.get(), "ext", 1) == "ext.h5::/ext_data");
}
