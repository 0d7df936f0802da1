// Owning what HDF5 allocates when it reads variable-length data.
#pragma once

#include <hdf5.h>

namespace h5swmrfs::h5 {

// Frees, when it goes, what a read of variable-length data (strings) into `buffer`
// allocated: also when the work after the read throws. `type` and `space` are the
// memory type and dataspace of that read; they must outlive this owner.
class VlenReclaim {
public:
    VlenReclaim(hid_t type, hid_t space, void* buffer) noexcept : type_(type), space_(space), buffer_(buffer) {}
    VlenReclaim(const VlenReclaim&) = delete;
    VlenReclaim& operator=(const VlenReclaim&) = delete;
    ~VlenReclaim() {
        if (H5Dvlen_reclaim(type_, space_, H5P_DEFAULT, buffer_) < 0) H5Eclear2(H5E_DEFAULT);
    }

private:
    hid_t type_;
    hid_t space_;
    void* buffer_;
};

}  // namespace h5swmrfs::h5
