#include "h5/shape_text.h"

#include <hdf5.h>

#include <cerrno>
#include <cstdlib>

#include "h5/bounds.h"
#include "util/error.h"

namespace h5swmrfs::h5 {

std::string shape_text(const std::vector<std::uint64_t>& extents, bool unlimited_as_inf) {
    std::string out;
    for (std::size_t i = 0; i < extents.size(); ++i) {
        if (i) out += ',';
        out += unlimited_as_inf && extents[i] == H5S_UNLIMITED ? "inf" : std::to_string(extents[i]);
    }
    return out;
}

std::vector<std::uint64_t> parse_shape(const std::string& text) {
    std::vector<std::uint64_t> shape;
    if (text.find_first_not_of(" \t\n") == std::string::npos) return shape;  // "" is a scalar
    std::size_t at = 0;
    while (at <= text.size()) {
        std::size_t comma = text.find(',', at);
        if (comma == std::string::npos) comma = text.size();
        std::string part = text.substr(at, comma - at);
        part.erase(0, part.find_first_not_of(" \t\n"));
        part.erase(part.find_last_not_of(" \t\n") + 1);
        if (part.empty() && comma == text.size() && !shape.empty()) break;  // "5," like Python's (5,)
        // strtoull alone would skip more white space, take a sign (negating what follows) and
        // stop at a NUL byte, which a value passed with its length can hold.
        char* end = nullptr;
        errno = 0;
        unsigned long long value = std::strtoull(part.c_str(), &end, 10);
        if (part.empty() || part[0] < '0' || part[0] > '9' ||
            end != part.c_str() + part.size() || errno != 0)
            throw Error(EINVAL, "user.h5.shape: '" + text + "' is not a comma-separated list of extents");
        shape.push_back(value);
        at = comma + 1;
    }
    check_shape(shape, "user.h5.shape '" + text + "'");
    return shape;
}

}  // namespace h5swmrfs::h5
