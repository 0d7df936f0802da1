#include "h5/file.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>

namespace h5swmrfs::h5 {
namespace {

Id file_access_plist() {
    Id fapl = checked(H5Pcreate(H5P_FILE_ACCESS), "create file access property list");
    check(H5Pset_fclose_degree(fapl.get(), H5F_CLOSE_STRONG), "set file close degree");
    check(H5Pset_file_locking(fapl.get(), false, true), "switch HDF5 file locking off");
    // One chunk cache for every dataset: big enough that reading a large chunked
    // dataset in 128 KiB pieces does not decompress each chunk again and again.
    check(H5Pset_cache(fapl.get(), 0, 12421, 32u << 20, 0.75), "set the chunk cache");
    return fapl;
}

haddr_t address_of_root(hid_t file) {
    H5O_info_t info;
    check(H5Oget_info_by_name2(file, "/", &info, H5O_INFO_BASIC, H5P_DEFAULT), "read the root group");
    return info.addr;
}

}  // namespace

void check_is_hdf5(const std::string& path) {
    htri_t is = H5Fis_hdf5(path.c_str());
    H5Eclear2(H5E_DEFAULT);
    if (is <= 0) throw Error(EINVAL, path + ": not an HDF5 file");
}

File::File(Id id, bool writable) : id_(std::move(id)), writable_(writable) {
    root_address_ = address_of_root(id_.get());
}

File File::open(const std::string& path, bool writable) {
    Id fapl = file_access_plist();
    Id id = checked(H5Fopen(path.c_str(), writable ? H5F_ACC_RDWR : H5F_ACC_RDONLY, fapl.get()),
                    "open " + path);
    return File(std::move(id), writable);
}

File File::create(const std::string& path) {
    Id fapl = file_access_plist();
    Id id = checked(H5Fcreate(path.c_str(), H5F_ACC_EXCL, H5P_DEFAULT, fapl.get()), "create " + path, EEXIST);
    return File(std::move(id), true);
}

void File::flush() { check(H5Fflush(id_.get(), H5F_SCOPE_LOCAL), "flush the file"); }

void File::fence() noexcept {
    void* handle = nullptr;
    if (H5Fget_vfd_handle(id_.get(), H5P_DEFAULT, &handle) < 0 || !handle) {
        H5Eclear2(H5E_DEFAULT);
        return;
    }
    const int fd = *static_cast<int*>(handle);  // the sec2 driver's descriptor
    const int null = ::open("/dev/null", O_RDWR | O_CLOEXEC);
    if (null < 0) return;
    ::dup2(null, fd);  // atomic: HDF5 keeps its descriptor number, which now leads nowhere
    ::close(null);
}

}  // namespace h5swmrfs::h5
