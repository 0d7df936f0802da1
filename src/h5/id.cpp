#include "h5/id.h"

#include <cstdlib>

#include "util/log.h"

namespace h5swmrfs::h5 {

void silence_library_errors() {
    thread_local bool silenced = false;
    if (silenced) return;
    H5Eset_auto2(H5E_DEFAULT, nullptr, nullptr);
    silenced = true;
}

namespace {
herr_t collect(unsigned n, const H5E_error2_t* e, void* data) {
    auto* out = static_cast<std::string*>(data);
    // The outermost entry (n == 0) is the API call; the innermost says why.
    if (e->desc && *e->desc) {
        if (!out->empty()) out->insert(0, ": ");
        out->insert(0, e->desc);
    }
    return n >= 2 ? 1 : 0;  // the three innermost entries are enough for one line
}
}  // namespace

std::string last_library_error() {
    std::string out;
    H5Ewalk2(H5E_DEFAULT, H5E_WALK_UPWARD, collect, &out);
    return out;
}

void fail(const std::string& what, int err) {
    std::string detail = last_library_error();
    H5Eclear2(H5E_DEFAULT);
    // A failed system call inside HDF5 (a full disk, say) names its errno in the
    // message; that errno is what the caller should see.
    if (auto at = detail.find("errno = "); at != std::string::npos) {
        int system_errno = std::atoi(detail.c_str() + at + 8);
        if (system_errno > 0) err = system_errno;
    }
    throw Error(err, detail.empty() ? what : what + ": " + detail);
}

void Id::reset() noexcept {
    if (id_ >= 0) {
        if (H5Iis_valid(id_) > 0 && H5Idec_ref(id_) < 0)
            log::warning("could not release HDF5 identifier ", id_, ": ", last_library_error());
        id_ = H5I_INVALID_HID;
    }
}

Id copy_type(hid_t type) { return checked(H5Tcopy(type), "copy HDF5 datatype"); }

std::size_t type_size(hid_t type) {
    const std::size_t size = H5Tget_size(type);
    if (size == 0) fail("get HDF5 datatype size");
    return size;
}

bool is_dataset(hid_t object) { return H5Iget_type(object) == H5I_DATASET; }

}  // namespace h5swmrfs::h5
