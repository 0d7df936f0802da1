// Errors that carry the errno a filesystem caller should see.
#pragma once

#include <cerrno>
#include <stdexcept>
#include <string>

namespace h5swmrfs {

// Thrown by every layer below src/fs; src/fs turns it into one fuse_reply_err.
class Error : public std::runtime_error {
public:
    Error(int err, const std::string& what) : std::runtime_error(what), errno_(err) {}
    int code() const noexcept { return errno_; }

private:
    int errno_;
};

// Maps any exception in flight to a positive errno (EIO for the unknown).
int errno_of(const std::exception& e) noexcept;

// The symbolic name of an errno: "ENOENT" for ENOENT; "E" and the number for one the C
// library has no name for.
std::string errno_name(int error);

}  // namespace h5swmrfs
