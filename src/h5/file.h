// One open HDF5 file, opened the way every mount opens it.
#pragma once

#include <functional>
#include <memory>
#include <string>

#include "h5/id.h"
#include "h5/journal.h"

namespace h5swmrfs::h5 {

// Checks that `path` is an HDF5 file we can open; throws Error with a one-line reason.
void check_is_hdf5(const std::string& path);

class File {
public:
    // HDF5's own file locking is switched off: the lock of src/lock is what
    // coordinates access, and HDF5's flock would make idle mounts block an
    // `h5swmrfs-ctl run --exclusive` writer.
    //
    // A writable open is a transaction (journal.h): nothing reaches the file
    // before commit(), and a File destroyed without it leaves the file as it was.
    static File open(const std::string& path, bool writable);
    // Creates an HDF5 file with an empty root group; EEXIST if it exists.
    static File create(const std::string& path);

    File(File&&) noexcept = default;
    File& operator=(File&&) = delete;  // would drop the journal before closing the file
    ~File();

    hid_t id() const noexcept { return id_.get(); }
    haddr_t root_address() const noexcept { return root_address_; }
    bool writable() const noexcept { return writable_; }
    // Closes the file and makes every change of this open reach it, all or nothing
    // (if this writer dies halfway, the next holder of the lock finishes it).
    // `still_ours` throws if the lock was lost; it is asked before the change is published.
    void commit(const std::function<void()>& still_ours);
    // The lock was lost: nothing this open has cached or written reaches the file.
    void fence() noexcept;

private:
    File(Id id, std::unique_ptr<Journal> journal);
    std::unique_ptr<Journal> journal_;  // declared before id_: outlives HDF5's handle
    Id id_;
    haddr_t root_address_ = HADDR_UNDEF;
    bool writable_ = false;
};

}  // namespace h5swmrfs::h5
