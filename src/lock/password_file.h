// The redis password from --redis-password-file, read by the daemon and h5swmrfs-ctl alike.
#pragma once

#include <string>

namespace h5swmrfs::lock {

// The file's first line, without its line end (LF or CRLF) and without trailing blanks
// (spaces, tabs) that editors leave. Throws Error(errno) naming the file when it cannot be
// read, Error(EINVAL) when that line is empty.
std::string read_password_file(const std::string& path);

}  // namespace h5swmrfs::lock
