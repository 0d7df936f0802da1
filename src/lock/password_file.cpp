#include "lock/password_file.h"

#include <cerrno>
#include <cstring>
#include <fstream>

#include "util/error.h"

namespace h5swmrfs::lock {

std::string read_password_file(const std::string& path) {
    std::ifstream in(path);
    if (!in) throw Error(errno ? errno : EIO, "--redis-password-file " + path + ": " + std::strerror(errno ? errno : EIO));
    std::string password;
    std::getline(in, password);
    while (!password.empty() && (password.back() == '\r' || password.back() == ' ' || password.back() == '\t'))
        password.pop_back();
    if (password.empty()) throw Error(EINVAL, "--redis-password-file " + path + ": its first line is empty");
    return password;
}

}  // namespace h5swmrfs::lock
