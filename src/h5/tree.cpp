#include "h5/tree.h"

#include <algorithm>
#include <cstring>

#include "h5/link_path.h"

namespace h5swmrfs::h5 {
namespace {

Kind kind_of(H5O_type_t type) {
    switch (type) {
        case H5O_TYPE_GROUP: return Kind::Group;
        case H5O_TYPE_DATASET: return Kind::Dataset;
        case H5O_TYPE_NAMED_DATATYPE: return Kind::NamedType;
        default: return Kind::Other;
    }
}

Link describe(hid_t group, const char* name, const H5L_info_t& info) {
    Link link{name, Kind::Other, HADDR_UNDEF};
    switch (info.type) {
        case H5L_TYPE_HARD: {
            H5O_info_t object;
            check(H5Oget_info_by_name2(group, name, &object, H5O_INFO_BASIC, H5P_DEFAULT),
                  std::string("read object ") + name);
            link.kind = kind_of(object.type);
            link.address = object.addr;
            break;
        }
        case H5L_TYPE_SOFT: link.kind = Kind::SoftLink; break;
        case H5L_TYPE_EXTERNAL: link.kind = Kind::ExternalLink; break;
        default: break;  // user-defined link types are listed as read-only entries
    }
    return link;
}

struct Listing {
    std::vector<Link> links;
    std::string error;
};

herr_t add_link(hid_t group, const char* name, const H5L_info_t* info, void* data) {
    auto* listing = static_cast<Listing*>(data);
    try {
        listing->links.push_back(describe(group, name, *info));
        return 0;
    } catch (const std::exception& e) {
        listing->error = e.what();
        return -1;
    }
}

}  // namespace

std::optional<Link> find_link(hid_t group, const std::string& name) {
    if (name.empty() || name == "." || name.find('/') != std::string::npos) return std::nullopt;
    htri_t exists = H5Lexists(group, name.c_str(), H5P_DEFAULT);
    if (exists < 0) fail("look up " + name);
    if (exists == 0) return std::nullopt;
    H5L_info_t info;
    check(H5Lget_info(group, name.c_str(), &info, H5P_DEFAULT), "read link " + name);
    return describe(group, name.c_str(), info);
}

std::vector<Link> list_links(hid_t group) {
    Listing listing;
    hsize_t index = 0;
    if (H5Literate(group, H5_INDEX_NAME, H5_ITER_INC, &index, add_link, &listing) < 0) {
        if (!listing.error.empty()) throw Error(EIO, listing.error);
        fail("list group");
    }
    return std::move(listing.links);
}

std::string link_target(hid_t group, const std::string& name, unsigned directory_depth) {
    H5L_info_t info;
    check(H5Lget_info(group, name.c_str(), &info, H5P_DEFAULT), "read link " + name);
    if (info.type != H5L_TYPE_SOFT && info.type != H5L_TYPE_EXTERNAL) throw Error(EINVAL, name + ": not a symbolic link");
    std::string value(info.u.val_size, '\0');
    check(H5Lget_val(group, name.c_str(), value.data(), value.size(), H5P_DEFAULT), "read link " + name);
    if (info.type == H5L_TYPE_SOFT) {
        value.resize(std::min(value.size(), value.find('\0')));
        return value.starts_with('/') ? relative_target(value, directory_depth) : value;
    }
    const char* file = nullptr;
    const char* path = nullptr;
    unsigned flags = 0;
    check(H5Lunpack_elink_val(value.data(), value.size(), &flags, &file, &path), "read external link " + name);
    return external_target(file ? file : "", path ? path : "");
}

ObjectInfo object_info(hid_t object) {
    H5O_info_t info;
    check(H5Oget_info2(object, &info, H5O_INFO_BASIC | H5O_INFO_TIME), "read object header");
    return ObjectInfo{kind_of(info.type), info.addr, info.rc, info.mtime};
}

namespace {

Id utf8_link_properties() {
    Id lcpl = checked(H5Pcreate(H5P_LINK_CREATE), "make link creation properties");
    check(H5Pset_char_encoding(lcpl.get(), H5T_CSET_UTF8), "set the name encoding");
    return lcpl;
}

void check_absent(hid_t parent, const std::string& name) {
    if (find_link(parent, name)) throw Error(EEXIST, name + ": exists");
}

}  // namespace

void create_group(hid_t parent, const std::string& name) {
    check_absent(parent, name);
    Id lcpl = utf8_link_properties();
    checked(H5Gcreate2(parent, name.c_str(), lcpl.get(), H5P_DEFAULT, H5P_DEFAULT), "create group " + name);
}

void remove_link(hid_t parent, const std::string& name) {
    if (!find_link(parent, name)) throw Error(ENOENT, name + ": no such name");
    check(H5Ldelete(parent, name.c_str(), H5P_DEFAULT), "delete " + name);
}

void move_link(hid_t from, const std::string& name, hid_t to, const std::string& to_name) {
    if (find_link(to, to_name)) check(H5Ldelete(to, to_name.c_str(), H5P_DEFAULT), "replace " + to_name);
    Id lcpl = utf8_link_properties();
    check(H5Lmove(from, name.c_str(), to, to_name.c_str(), lcpl.get(), H5P_DEFAULT), "move " + name + " to " + to_name);
}

void create_soft_link(hid_t parent, const std::string& name, const std::string& target) {
    check_absent(parent, name);
    Id lcpl = utf8_link_properties();
    check(H5Lcreate_soft(target.c_str(), parent, name.c_str(), lcpl.get(), H5P_DEFAULT), "create soft link " + name);
}

void create_external_link(hid_t parent, const std::string& name, const std::string& file, const std::string& path) {
    check_absent(parent, name);
    Id lcpl = utf8_link_properties();
    check(H5Lcreate_external(file.c_str(), path.c_str(), parent, name.c_str(), lcpl.get(), H5P_DEFAULT),
          "create external link " + name);
}

void create_hard_link(hid_t object, hid_t parent, const std::string& name) {
    check_absent(parent, name);
    Id lcpl = utf8_link_properties();
    check(H5Lcreate_hard(object, ".", parent, name.c_str(), lcpl.get(), H5P_DEFAULT), "create hard link " + name);
}

bool group_is_empty(hid_t group) {
    H5G_info_t info;
    check(H5Gget_info(group, &info), "read group");
    return info.nlinks == 0;
}

Id open_object(hid_t file, haddr_t address) {
    return checked(H5Oopen_by_addr(file, address), "open object at address " + std::to_string(address), ENOENT);
}

Id open_object(hid_t file, const std::string& path, haddr_t address) {
    Id object(H5Oopen(file, path.c_str(), H5P_DEFAULT));
    if (object) {
        H5O_info_t info;
        if (H5Oget_info2(object.get(), &info, H5O_INFO_BASIC) >= 0 && info.addr == address) return object;
    }
    H5Eclear2(H5E_DEFAULT);
    throw Error(ESTALE, path + ": moved or replaced meanwhile");
}

namespace {

bool leads_to(hid_t file, const std::string& path, haddr_t address, Kind kind) {
    H5O_info_t info;
    const bool found = H5Oget_info_by_name2(file, path.c_str(), &info, H5O_INFO_BASIC, H5P_DEFAULT) >= 0 &&
                       info.addr == address && kind_of(info.type) == kind;
    H5Eclear2(H5E_DEFAULT);
    return found;
}

struct Search {
    haddr_t address;
    Kind kind;
    std::optional<std::string> path;
};

herr_t match_object(hid_t, const char* name, const H5O_info_t* info, void* data) {
    auto* search = static_cast<Search*>(data);
    if (info->addr != search->address) return 0;
    if (kind_of(info->type) == search->kind) search->path = std::strcmp(name, ".") == 0 ? "/" : "/" + std::string(name);
    return 1;  // one object per address: found, or the address now holds something else
}

std::optional<std::string> walk_to(hid_t file, haddr_t address, Kind kind) {
    Search search{address, kind, std::nullopt};
    check(H5Ovisit2(file, H5_INDEX_NAME, H5_ITER_INC, match_object, &search, H5O_INFO_BASIC), "walk the tree");
    return search.path;
}

}  // namespace

std::optional<Location> locate_object(hid_t file, haddr_t address, Kind kind, const std::string& known_path) {
    std::optional<std::string> path;
    if (leads_to(file, known_path, address, kind))
        path = known_path;
    else
        path = walk_to(file, address, kind);
    if (!path) return std::nullopt;
    Location location{*path, HADDR_UNDEF};
    const std::size_t slash = path->rfind('/');
    const std::string parent = slash == 0 ? "/" : path->substr(0, slash);
    if (*path != "/") {
        H5O_info_t info;
        check(H5Oget_info_by_name2(file, parent.c_str(), &info, H5O_INFO_BASIC, H5P_DEFAULT), "read group " + parent);
        location.parent = info.addr;
    }
    return location;
}

}  // namespace h5swmrfs::h5
