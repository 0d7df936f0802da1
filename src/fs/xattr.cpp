// Extended attributes: user.h5.* metadata of datasets and user.NAME for HDF5 attributes (SPEC §4).
#include <algorithm>
#include <string_view>
#include <vector>

#include "fs/ops.h"
#include "h5/attribute.h"
#include "h5/dataset.h"  // dataset_metadata

namespace h5swmrfs::fs::ops {
namespace {

constexpr std::string_view kUserPrefix = "user.";
constexpr std::string_view kMetadataPrefix = "user.h5.";

// Replies to getxattr/listxattr: the size when asked for it, ERANGE when it does not fit.
void reply_xattr(fuse_req_t req, const std::string& value, size_t size) {
    if (size == 0)
        fuse_reply_xattr(req, value.size());
    else if (value.size() > size)
        fuse_reply_err(req, ERANGE);
    else
        fuse_reply_buf(req, value.data(), value.size());
}

}  // namespace

void getxattr(fuse_req_t req, fuse_ino_t ino, const char* name_c, size_t size) {
    Filesystem& fs = filesystem_of(req);
    const std::string name = name_c;
    auto value = under_lock(req, lock::Mode::Shared, "getxattr", [&](View& view, const lock::Hold&) {
        Node node = fs.inodes.get(ino);
        if (is_symlink(node.kind) || !name.starts_with(kUserPrefix))
            throw Error(ENODATA, node.path + ": no attribute " + name);
        h5::Id object = h5::open_object(view.file.id(), node.address);
        if (name.starts_with(kMetadataPrefix) && H5Iget_type(object.get()) == H5I_DATASET) {
            for (auto& [key, text] : h5::dataset_metadata(object.get()))
                if (key == name) return text;
            throw Error(ENODATA, node.path + ": no attribute " + name);
        }
        return h5::attribute_value(object.get(), name.substr(kUserPrefix.size()));
    });
    if (value) reply_xattr(req, *value, size);
}

void listxattr(fuse_req_t req, fuse_ino_t ino, size_t size) {
    Filesystem& fs = filesystem_of(req);
    auto names = under_lock(req, lock::Mode::Shared, "listxattr", [&](View& view, const lock::Hold&) {
        std::string out;
        Node node = fs.inodes.get(ino);
        if (is_symlink(node.kind)) return out;
        h5::Id object = h5::open_object(view.file.id(), node.address);
        std::vector<std::string> metadata;
        if (H5Iget_type(object.get()) == H5I_DATASET)
            for (auto& entry : h5::dataset_metadata(object.get())) metadata.push_back(entry.first);
        for (const std::string& key : metadata) out.append(key).push_back('\0');
        for (const std::string& attribute : h5::attribute_names(object.get())) {
            std::string key = std::string(kUserPrefix) + attribute;
            // An HDF5 attribute named like our metadata (h5.dtype) is shadowed by it.
            if (std::find(metadata.begin(), metadata.end(), key) != metadata.end()) continue;
            if (key.size() > 255) continue;  // longer than any xattr name the kernel passes
            out.append(key).push_back('\0');
        }
        return out;
    });
    if (names) reply_xattr(req, *names, size);
}

}  // namespace h5swmrfs::fs::ops
