// set_attribute, delete_attribute and has_attribute of attribute_write.h. A numeric
// attribute is rewritten in place where it can be (attribute_numbers.cpp); any other value
// replaces the attribute by a text or binary one, staged under a spare name and swapped in.
#include "h5/attribute_write.h"

#include <unistd.h>

#include <algorithm>
#include <atomic>

#include "h5/attribute_numbers.h"
#include "h5/bounds.h"
#include "h5/id.h"
#include "util/text.h"

namespace h5swmrfs::h5 {
namespace {

// How a value that keeps no numeric type is stored. Text (UTF-8 without NUL) becomes
// h5py's str, a scalar variable-length UTF-8 string. Any other bytes become a scalar opaque
// of their length (h5py's np.void): HDF5 hands those back byte for byte, where a C string
// ends at the first NUL and a fixed-length NULLPAD string drops trailing ones.
struct Stored {
    Id type;
    std::string bytes;  // NUL-terminated by std::string for the string case
    bool text = true;
};

Stored stored_form(std::string_view value) {
    Stored out;
    out.bytes = value;
    out.text = value.find('\0') == std::string_view::npos && util::valid_utf8(value);
    if (!out.text) {
        // Never of size 0: the empty value is text.
        out.type = checked(H5Tcreate(H5T_OPAQUE, value.size()), "create opaque type");
        return out;
    }
    out.type = checked(H5Tcopy(H5T_C_S1), "create string type");
    check(H5Tset_size(out.type.get(), H5T_VARIABLE), "create string type");
    check(H5Tset_cset(out.type.get(), H5T_CSET_UTF8), "create string type");
    return out;
}

void write_stored(hid_t attr, const Stored& stored, const std::string& name) {
    const char* pointer = stored.bytes.c_str();
    const void* data = stored.text ? static_cast<const void*>(&pointer) : static_cast<const void*>(stored.bytes.data());
    check(H5Awrite(attr, stored.type.get(), data), "write attribute " + name);
}

// A version 1 object header keeps each attribute whole in one message of less than 64 KiB
// (version 2 headers move a larger one to dense storage). Its size, by the HDF5 file format:
// a header of 8 bytes (9 with a UTF-8 name), the name with its NUL padded to 8, the opaque
// type and the scalar dataspace at most 8 each, then the value. What does not fit is the
// user's error (EINVAL), where HDF5 would only fail with "object header message is too large".
void check_fits(hid_t obj, std::size_t longest_name, const Stored& stored, const std::string& name) {
    if (stored.text) return;  // the header holds only a reference to a string's bytes
    H5O_info_t info;
    check(H5Oget_info2(obj, &info, H5O_INFO_HDR), "read the object header of attribute " + name);
    if (info.hdr.version != 1) return;
    const std::size_t overhead = 9 + (longest_name + 1 + 7) / 8 * 8 + 8 + 8;
    const std::size_t room = kLargestHeaderMessage - overhead;
    if (stored.bytes.size() > room)
        throw Error(EINVAL, "attribute " + name + ": a binary value of " + std::to_string(stored.bytes.size()) +
                                " bytes does not fit in this object's HDF5 header, which holds at most " +
                                std::to_string(room) + " (text values have no such limit)");
}

Id attribute_create_plist(const std::string& name) {
    Id acpl = checked(H5Pcreate(H5P_ATTRIBUTE_CREATE), "create attribute property list");
    bool ascii = std::all_of(name.begin(), name.end(), [](char c) { return static_cast<unsigned char>(c) < 0x80; });
    if (!ascii && util::valid_utf8(name)) check(H5Pset_char_encoding(acpl.get(), H5T_CSET_UTF8), "set attribute name encoding");
    return acpl;
}

// A name no attribute of `obj` has, for staging a replacement.
std::string unused_name(hid_t obj) {
    static std::atomic<unsigned> counter{0};
    for (;;) {
        std::string name = ".h5swmrfs-attribute-" + std::to_string(::getpid()) + "-" + std::to_string(counter++);
        if (check(H5Aexists(obj, name.c_str()), "look up attribute " + name) == 0) return name;
    }
}

void create_stored(hid_t obj, const std::string& name, const std::string& created_as, const Stored& stored) {
    Id space = checked(H5Screate(H5S_SCALAR), "create scalar dataspace");
    Id acpl = attribute_create_plist(name);
    Id attr = checked(H5Acreate2(obj, created_as.c_str(), stored.type.get(), space.get(), acpl.get(), H5P_DEFAULT),
                      "create attribute " + name);
    try {
        write_stored(attr.get(), stored, name);
    } catch (...) {
        attr.reset();
        H5Adelete(obj, created_as.c_str());
        throw;
    }
}

void check_name(const std::string& name) {
    if (name.empty()) throw Error(EINVAL, "an attribute needs a name");
    if (name.find('\0') != std::string::npos) throw Error(EINVAL, "attribute name holds a NUL");
}

}  // namespace

void set_attribute(hid_t obj, const std::string& name, std::string_view value) {
    check_name(name);
    bool exists = check(H5Aexists(obj, name.c_str()), "look up attribute " + name) > 0;
    if (exists) {
        Id attr = checked(H5Aopen(obj, name.c_str(), H5P_DEFAULT), "open attribute " + name);
        if (rewrite_numbers(attr.get(), name, value)) return;
    }
    Stored stored = stored_form(value);
    if (!exists) {
        check_fits(obj, name.size(), stored, name);
        create_stored(obj, name, name, stored);
        return;
    }
    // HDF5 cannot change an attribute's type: write the new one beside it, then swap names
    // (h5py does the same), so a failed write leaves the old value.
    std::string staged = unused_name(obj);
    check_fits(obj, std::max(name.size(), staged.size()), stored, name);
    create_stored(obj, name, staged, stored);
    if (H5Adelete(obj, name.c_str()) < 0) {
        H5Adelete(obj, staged.c_str());
        fail("delete attribute " + name);
    }
    check(H5Arename(obj, staged.c_str(), name.c_str()), "rename new attribute to " + name);
}

void delete_attribute(hid_t obj, const std::string& name) {
    if (!has_attribute(obj, name)) throw Error(ENODATA, "no attribute named " + name);
    check(H5Adelete(obj, name.c_str()), "delete attribute " + name);
}

bool has_attribute(hid_t obj, const std::string& name) {
    if (name.empty() || name.find('\0') != std::string::npos) return false;
    return check(H5Aexists(obj, name.c_str()), "look up attribute " + name) > 0;
}

}  // namespace h5swmrfs::h5
