// Extended attributes: user.h5.* metadata of datasets and user.NAME for HDF5 attributes (SPEC §4).
#include <sys/xattr.h>

#include <algorithm>
#include <string_view>
#include <vector>

#include "fs/ops.h"
#include "fs/stat.h"
#include "h5/attribute.h"
#include "h5/attribute_write.h"
#include "h5/dataset.h"
#include "h5/reinterpret.h"
#include "h5/shape_text.h"
#include "util/error.h"

namespace h5swmrfs::fs::ops {
namespace {

constexpr std::string_view kUserPrefix = "user.";
constexpr std::string_view kMetadataPrefix = "user.h5.";

// Replies to getxattr/listxattr: the size when asked for it, ERANGE when it does not fit.
void reply_xattr(fuse_req_t req, const std::string& value, size_t size) {
    if (size == 0)
        reply::xattr(req, value.size());
    else if (value.size() > size)
        reply::err(req, ERANGE);
    else
        reply::buf(req, value.data(), value.size());
}

// The answer for a name outside user., which is never stored. POSIX ACLs: none (as on
// a filesystem without them). Any other namespace (security.selinux, trusted.*): not
// supported, the answer `ls -l` takes as true of the whole mount, so it asks once per
// listing instead of once per file.
int not_stored(std::string_view name) {
    return name.starts_with("system.posix_acl_") ? ENODATA : EOPNOTSUPP;
}

// The key of a getxattr answer (`name`) or of the listxattr answer ("") of `ino`.
std::string answer_key(fuse_ino_t ino, const std::string& name) {
    return "xattr:" + std::to_string(ino) + ":" + name;
}

// listxattr: the user.h5.* metadata of a dataset, then its HDF5 attributes as user.NAME.
// The values of the metadata are kept too: `getfattr -d` asks for each next.
std::string names_of(View& view, fuse_ino_t ino, const Node& node) {
    std::string out;
    h5::Id object = open_node(view, node);
    std::vector<std::string> metadata;
    if (h5::is_dataset(object.get()))
        for (auto& [key, value] : h5::dataset_metadata(object.get())) {
            metadata.push_back(key);
            view.remember(answer_key(ino, key), std::move(value));
        }
    for (const std::string& key : metadata) out.append(key).push_back('\0');
    for (const std::string& attribute : h5::attribute_names(object.get())) {
        std::string key = std::string(kUserPrefix) + attribute;
        // An HDF5 attribute named like our metadata (h5.dtype) is shadowed by it.
        if (std::find(metadata.begin(), metadata.end(), key) != metadata.end()) continue;
        if (key.size() > 255) continue;  // longer than any xattr name the kernel passes
        out.append(key).push_back('\0');
    }
    return out;
}

}  // namespace

void getxattr(fuse_req_t req, fuse_ino_t ino, const char* name_c, size_t size) {
    Filesystem& fs = filesystem_of(req);
    const std::string name = name_c;
    // Names outside user. are never stored: answered at once, without the lock, and
    // without a log line (`ls -l` asks two of every file).
    if (!name.starts_with(kUserPrefix)) {
        reply::err(req, not_stored(name));
        return;
    }
    auto value = locked(fs, Access::shared(), [&](View& view, const lock::Hold&) {
        Node node = fs.inodes.get(ino);
        if (is_symlink(node.kind)) throw Error(ENODATA, node.path + ": no attribute " + name);
        return view.answer(answer_key(ino, name), [&] {
            h5::Id object = open_node(view, node);
            if (name.starts_with(kMetadataPrefix) && h5::is_dataset(object.get())) {
                for (auto& [key, text] : h5::dataset_metadata(object.get()))
                    if (key == name) return text;
                throw Error(ENODATA, node.path + ": no attribute " + name);
            }
            return h5::attribute_value(object.get(), name.substr(kUserPrefix.size()));
        });
    });
    reply_xattr(req, value, size);
}

void listxattr(fuse_req_t req, fuse_ino_t ino, size_t size) {
    Filesystem& fs = filesystem_of(req);
    auto names = locked(fs, Access::shared(), [&](View& view, const lock::Hold&) {
        Node node = fs.inodes.get(ino);
        if (is_symlink(node.kind)) return std::string();
        return view.answer(answer_key(ino, ""), [&] { return names_of(view, ino, node); });
    });
    reply_xattr(req, names, size);
}


}  // namespace h5swmrfs::fs::ops

namespace h5swmrfs::fs::ops {
namespace {

// setfattr -n user.h5.dtype / user.h5.shape: the same bytes, read with another type or shape.
void reinterpret(View& view, const lock::Hold& hold, Node& node, const std::string& key, const std::string& value) {
    h5::Id group = h5::open_object(view.file.id(), parent_path(node.path), node.directory);
    const auto between_pieces = [&] { hold.check_valid(); };
    h5::Id dataset = key == "user.h5.dtype"
        ? h5::reinterpret_as_type(open_node(view, node), group.get(), base_name(node.path), value, node.path, between_pieces)
        : h5::reinterpret_as_shape(open_node(view, node), group.get(), base_name(node.path), h5::parse_shape(value), node.path,
                                   between_pieces);
    node.address = h5::object_info(dataset.get()).address;
}

}  // namespace

void setxattr(fuse_req_t req, fuse_ino_t ino, const char* name_c, const char* value_c, size_t size, int flags) {
    Filesystem& fs = filesystem_of(req);
    const std::string name = name_c, value(value_c, size);
    if (!name.starts_with(kUserPrefix)) {
        // An answer, not a failure worth a log line: `cp -a` and `rsync -X` offer
        // security.* and system.* attributes to every file they copy.
        reply::err(req, EOPNOTSUPP);
        return;
    }
    locked(fs, Access::exclusive(), [&](View& view, const lock::Hold& hold) {
        Node node = fs.inodes.get(ino);
        if (is_symlink(node.kind)) throw Error(EPERM, node.path + ": links have no attributes");
        h5::Id object = open_node(view, node);
        if (name.starts_with(kMetadataPrefix) && h5::is_dataset(object.get())) {
            if (name != "user.h5.dtype" && name != "user.h5.shape")
                throw Error(EPERM, node.path + ": " + name + " is read-only");
            if (flags & XATTR_CREATE) throw Error(EEXIST, node.path + ": " + name + " exists");
            // A new type or shape makes a new dataset in the place of the name: the dataset's
            // other names (hard links) would keep the old one.
            if (const unsigned names = h5::object_info(object.get()).hard_links; names > 1)
                throw Error(EPERM, node.path + ": " + name + " of a dataset with " + std::to_string(names) +
                                       " names (hard links) would part them");
            object.reset();
            fs.changes.touch(hold.generation(), node.address);
            reinterpret(view, hold, node, name, value);
            return;
        }
        const std::string attribute = name.substr(kUserPrefix.size());
        const bool exists = h5::has_attribute(object.get(), attribute);
        if ((flags & XATTR_CREATE) && exists) throw Error(EEXIST, node.path + ": attribute " + attribute + " exists");
        if ((flags & XATTR_REPLACE) && !exists) throw Error(ENODATA, node.path + ": no attribute " + attribute);
        h5::set_attribute(object.get(), attribute, value);
    });
    reply::err(req, 0);
}

void removexattr(fuse_req_t req, fuse_ino_t ino, const char* name_c) {
    Filesystem& fs = filesystem_of(req);
    const std::string name = name_c;
    if (!name.starts_with(kUserPrefix)) {
        reply::err(req, not_stored(name));
        return;
    }
    locked(fs, Access::exclusive(), [&](View& view, const lock::Hold&) {
        Node node = fs.inodes.get(ino);
        if (is_symlink(node.kind)) throw Error(ENODATA, node.path + ": links have no attributes");
        h5::Id object = open_node(view, node);
        if (name.starts_with(kMetadataPrefix) && h5::is_dataset(object.get()))
            throw Error(EPERM, node.path + ": " + name + " cannot be removed");
        h5::delete_attribute(object.get(), name.substr(kUserPrefix.size()));
    });
    reply::err(req, 0);
}

}  // namespace h5swmrfs::fs::ops
