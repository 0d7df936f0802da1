// One open HDF5 file, opened the way every mount opens it.
#pragma once

#include <string>

#include "h5/id.h"

namespace h5swmrfs::h5 {

// Checks that `path` is an HDF5 file we can open; throws Error with a one-line reason.
void check_is_hdf5(const std::string& path);

class File {
public:
    // HDF5's own file locking is switched off: the lock of src/lock is what
    // coordinates access, and HDF5's flock would make idle mounts block an
    // `h5swmrfs-ctl run --exclusive` writer.
    static File open(const std::string& path, bool writable);
    // Creates an HDF5 file with an empty root group; EEXIST if it exists.
    static File create(const std::string& path);

    hid_t id() const noexcept { return id_.get(); }
    haddr_t root_address() const noexcept { return root_address_; }
    bool writable() const noexcept { return writable_; }
    // Writes every cached change to disk (before the exclusive hold ends).
    void flush();
    // From now on nothing this handle still has cached reaches the file: its writes go
    // to /dev/null. For a writer that lost its lock, whose close would otherwise
    // write its stale metadata over another writer's.
    void fence() noexcept;

private:
    File(Id id, bool writable);
    Id id_;
    haddr_t root_address_ = HADDR_UNDEF;
    bool writable_ = false;
};

}  // namespace h5swmrfs::h5
