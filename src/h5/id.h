// Move-only owners of HDF5 identifiers and one checked wrapper for C calls.
#pragma once

#include <hdf5.h>

#include <string>
#include <utility>

#include "util/error.h"

namespace h5swmrfs::h5 {

// Turns HDF5's automatic error printing off for the calling thread (HDF5 keeps
// the setting per thread). Cheap after the first call in a thread; every thread
// that calls HDF5 calls it first.
void silence_library_errors();

// The innermost messages of HDF5's error stack for the current thread, "" when empty.
std::string last_library_error();

// Throws Error(err, what + HDF5's own message) when `status` is negative.
[[noreturn]] void fail(const std::string& what, int err = EIO);

template <class T>
T check(T status, const std::string& what, int err = EIO) {
    if (status < 0) fail(what, err);
    return status;
}

// Owns one reference to an HDF5 identifier (file, group, dataset, type, space, plist, attribute).
class Id {
public:
    Id() noexcept = default;
    explicit Id(hid_t id) noexcept : id_(id) {}
    Id(const Id&) = delete;
    Id& operator=(const Id&) = delete;
    Id(Id&& other) noexcept : id_(std::exchange(other.id_, H5I_INVALID_HID)) {}
    Id& operator=(Id&& other) noexcept {
        if (this != &other) {
            reset();
            id_ = std::exchange(other.id_, H5I_INVALID_HID);
        }
        return *this;
    }
    ~Id() { reset(); }

    hid_t get() const noexcept { return id_; }
    explicit operator bool() const noexcept { return id_ >= 0; }
    void reset() noexcept;
    hid_t release() noexcept { return std::exchange(id_, H5I_INVALID_HID); }

private:
    hid_t id_ = H5I_INVALID_HID;
};

// Wraps the result of an HDF5 call that returns a new identifier; throws on failure.
inline Id checked(hid_t id, const std::string& what, int err = EIO) {
    if (id < 0) fail(what, err);
    return Id(id);
}

// Whether `object` is an open dataset (not a group, type, ...).
bool is_dataset(hid_t object);

// H5Tcopy, checked.
Id copy_type(hid_t type);

// H5Tget_size, checked: the size in bytes of an element of `type`.
std::size_t type_size(hid_t type);

}  // namespace h5swmrfs::h5
