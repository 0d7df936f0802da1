#include "h5/bounds.h"

#include "h5/id.h"

namespace h5swmrfs::h5 {

void check_shape(const std::vector<std::uint64_t>& shape, const std::string& what) {
    if (shape.size() > H5S_MAX_RANK)
        throw Error(EINVAL, what + ": " + std::to_string(shape.size()) + " dimensions, HDF5 allows at most " +
                                std::to_string(H5S_MAX_RANK));
    constexpr std::uint64_t kFirstRefused = std::uint64_t{1} << 63;
    for (std::uint64_t extent : shape)
        if (extent >= kFirstRefused)
            throw Error(EINVAL, what + ": extent " + std::to_string(extent) +
                                    " is beyond HDF5's largest, 9223372036854775807");
}

void check_type_fits_header(hid_t type, const std::string& what) {
    std::size_t encoded = 0;
    check(H5Tencode(type, nullptr, &encoded), "measure an HDF5 datatype");
    // H5Tencode puts a byte for the kind of object and one for its version before the message.
    const std::size_t message = encoded - 2;
    if (message > kLargestHeaderMessage)
        throw Error(EINVAL, what + ": the HDF5 description of its type takes " + std::to_string(message) +
                                " bytes, more than the " + std::to_string(kLargestHeaderMessage) +
                                " a dataset's header holds");
}

}  // namespace h5swmrfs::h5
