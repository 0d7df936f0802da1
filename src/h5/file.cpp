#include "h5/file.h"

#include <cerrno>

#include "util/log.h"

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

File::File(Id id, std::unique_ptr<Journal> journal)
    : journal_(std::move(journal)), id_(std::move(id)), writable_(true) {
    root_address_ = address_of_root(id_.get());
}

File::~File() {
    // A writable open never committed: what HDF5 still writes of its cache is dropped
    // with the rest of the change.
    if (journal_ && id_) {
        silence_library_errors();
        journal_->drop_writes();
        if (H5Fclose(id_.release()) < 0) {
            H5Eclear2(H5E_DEFAULT);
            log::error(journal_->file(), ": HDF5 could not close a dropped change");
        }
    }
}

File File::open(const std::string& path, bool writable) {
    Id fapl = file_access_plist();
    std::unique_ptr<Journal> journal;
    if (writable) {
        journal = std::make_unique<Journal>(path);
        journal->configure(fapl.get());
    }
    Id id = checked(H5Fopen(path.c_str(), writable ? H5F_ACC_RDWR : H5F_ACC_RDONLY, fapl.get()),
                    "open " + path);
    File file(std::move(id), std::move(journal));
    file.writable_ = writable;
    return file;
}

File File::create(const std::string& path) {
    Id fapl = file_access_plist();
    Id id = checked(H5Fcreate(path.c_str(), H5F_ACC_EXCL, H5P_DEFAULT, fapl.get()), "create " + path, EEXIST);
    return File(std::move(id), nullptr);
}

void File::commit(const std::function<void()>& still_ours) {
    if (!journal_) throw Error(EINVAL, "commit of a file not open for writing");
    check(H5Fclose(id_.release()), "close the file");  // HDF5 writes all it has, into the journal
    journal_->commit(still_ours);
}

void File::fence() noexcept {
    if (journal_) journal_->fence();
}

}  // namespace h5swmrfs::h5
