// The tree: what a name in a group is, listing groups, opening objects by address.
#pragma once

#include <ctime>
#include <optional>
#include <string>
#include <vector>

#include "h5/id.h"

namespace h5swmrfs::h5 {

enum class Kind { Group, Dataset, NamedType, SoftLink, ExternalLink, Other };

// One name in a group and what it refers to.
struct Link {
    std::string name;
    Kind kind = Kind::Other;
    haddr_t address = HADDR_UNDEF;  // the object's header address, for hard links
};

// The link `name` in `group`, or nullopt when there is none. Dangling soft and
// external links are links all the same.
std::optional<Link> find_link(hid_t group, const std::string& name);

// Every link of `group`, in name order.
std::vector<Link> list_links(hid_t group);

// A symlink's target text (SPEC §2): a soft link's HDF5 path, made relative to
// `directory_depth` levels when absolute, so it resolves inside the mount; an
// external link as FILE::/PATH.
std::string link_target(hid_t group, const std::string& name, unsigned directory_depth);

struct ObjectInfo {
    Kind kind = Kind::Other;
    haddr_t address = HADDR_UNDEF;
    unsigned hard_links = 1;
    std::time_t mtime = 0;  // 0 when the file does not track times
};

ObjectInfo object_info(hid_t object);

// Opens the group, dataset or named datatype whose header is at `address`; ENOENT when there is none.
Id open_object(hid_t file, haddr_t address);

// The same, opened by `path`, which must still lead to `address` (else ESTALE). Changes
// to the tree need this: HDF5 1.10 crashes changing links in a group it knows by
// address only (it cannot update the names of open objects).
Id open_object(hid_t file, const std::string& path, haddr_t address);

// Where the object of `kind` whose header is at `address` is linked now: its path from
// the root and the address of the group that holds that link.
struct Location {
    std::string path;
    haddr_t parent = HADDR_UNDEF;
};

// Finds that object: at `known_path` when that still leads to it, else by walking the
// tree (another mount may have renamed it or a group above it). nullopt when no link
// leads to it any more, or what is at `address` now is another kind of object (the
// object was deleted and its place reused).
std::optional<Location> locate_object(hid_t file, haddr_t address, Kind kind, const std::string& known_path);

// Changes to the tree. Names are single path components (no '/'); every
// function checks what POSIX would and throws Error with that errno.
void create_group(hid_t parent, const std::string& name);                 // EEXIST
void remove_link(hid_t parent, const std::string& name);                  // ENOENT
// Moves `name` of `from` to `to_name` in `to`, replacing what is there (which the
// caller has checked may be replaced) in one step.
void move_link(hid_t from, const std::string& name, hid_t to, const std::string& to_name);
void create_soft_link(hid_t parent, const std::string& name, const std::string& target);
void create_external_link(hid_t parent, const std::string& name, const std::string& file, const std::string& path);
void create_hard_link(hid_t object, hid_t parent, const std::string& name);
bool group_is_empty(hid_t group);

}  // namespace h5swmrfs::h5
