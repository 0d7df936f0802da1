// copy_attributes() of attribute_write.h: every attribute of one object onto another, as it
// is, for an object that is recreated (recreate.cpp).
#include "h5/attribute_write.h"

#include "h5/attribute.h"
#include "h5/id.h"
#include "h5/vlen.h"

#include <cstddef>
#include <vector>

namespace h5swmrfs::h5 {
namespace {

void copy_attribute(hid_t from, hid_t to, const std::string& name) {
    Id source = checked(H5Aopen(from, name.c_str(), H5P_DEFAULT), "open attribute " + name);
    // H5Aget_type gives the type in its memory form (variable-length data as pointers).
    Id type = checked(H5Aget_type(source.get()), "get type of attribute " + name);
    Id space = checked(H5Aget_space(source.get()), "get dataspace of attribute " + name);
    Id acpl = checked(H5Aget_create_plist(source.get()), "get creation properties of attribute " + name);
    hssize_t elements = check(H5Sget_simple_extent_npoints(space.get()), "count elements of attribute " + name);
    Id target(H5Acreate2(to, name.c_str(), type.get(), space.get(), acpl.get(), H5P_DEFAULT));
    if (!target && H5Tcommitted(type.get()) > 0) {
        // A named datatype of another file: the copy gets the type itself.
        H5Eclear2(H5E_DEFAULT);
        Id transient = checked(H5Tcopy(type.get()), "copy type of attribute " + name);
        target = Id(H5Acreate2(to, name.c_str(), transient.get(), space.get(), acpl.get(), H5P_DEFAULT));
    }
    if (!target) fail("create attribute " + name);
    try {
        if (elements > 0) {
            std::vector<std::byte> buffer(static_cast<std::size_t>(elements) * type_size(type.get()));
            check(H5Aread(source.get(), type.get(), buffer.data()), "read attribute " + name);
            VlenReclaim reclaim(type.get(), space.get(), buffer.data());
            check(H5Awrite(target.get(), type.get(), buffer.data()), "write attribute " + name);
        }
    } catch (...) {
        target.reset();
        H5Adelete(to, name.c_str());
        throw;
    }
}

}  // namespace

void copy_attributes(hid_t from, hid_t to) {
    // Creation order where the object tracks it (so the copy lists them alike), else name order.
    auto names = attribute_names_in(from, H5_INDEX_CRT_ORDER);
    for (const std::string& name : names ? *names : attribute_names(from)) copy_attribute(from, to, name);
}

}  // namespace h5swmrfs::h5
