#include "h5/recreate.h"

#include <unistd.h>

#include "h5/attribute_write.h"
#include "h5/bounds.h"
#include "h5/tree.h"

namespace h5swmrfs::h5 {

Id recreate_dataset(hid_t group, const std::string& name, hid_t type, const std::vector<std::uint64_t>& shape,
                    const std::function<void(DatasetWriter&)>& fill) {
    constexpr std::uint64_t kChunkBytes = 1 << 20;
    check_shape(shape, "dataset " + name);
    check_type_fits_header(type, "dataset " + name);
    const std::string temporary = ".h5swmrfs-new-" + std::to_string(::getpid()) + "-" + name;
    if (find_link(group, temporary)) remove_link(group, temporary);  // left by a writer that died

    std::vector<std::uint64_t> max_shape = shape, chunks;
    if (!shape.empty()) {
        max_shape[0] = H5S_UNLIMITED;
        chunks = chunks_for(shape, H5Tget_size(type), kChunkBytes);
    }
    Id created = create_dataset(group, temporary, type, shape, max_shape, chunks);
    try {
        DatasetWriter writer(created.get(), type);
        fill(writer);
        Id old = checked(H5Dopen2(group, name.c_str(), H5P_DEFAULT), "open " + name);
        copy_attributes(old.get(), created.get());
    } catch (...) {
        created.reset();
        if (find_link(group, temporary)) H5Ldelete(group, temporary.c_str(), H5P_DEFAULT);
        throw;
    }
    move_link(group, temporary, group, name);
    return created;
}

}  // namespace h5swmrfs::h5
