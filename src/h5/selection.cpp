#include "h5/selection.h"

#include "h5/hyperslab.h"

namespace h5swmrfs::h5 {

ElementSelection select_elements(hid_t dataset, const std::vector<std::uint64_t>& shape, bool scalar,
                                 std::uint64_t first, std::uint64_t count) {
    ElementSelection selection;
    selection.file_space = checked(H5Dget_space(dataset), "read the dataspace");
    if (scalar) {
        selection.memory_space = checked(H5Screate(H5S_SCALAR), "make a memory dataspace");
        return selection;
    }
    // The union of the boxes is iterated in C order, which for a run of
    // consecutive elements is the order of the run itself.
    H5S_seloper_t op = H5S_SELECT_SET;
    for (const Box& box : cover_elements(shape, first, count)) {
        std::vector<hsize_t> start(box.start.begin(), box.start.end());
        std::vector<hsize_t> extent(box.count.begin(), box.count.end());
        check(H5Sselect_hyperslab(selection.file_space.get(), op, start.data(), nullptr, extent.data(), nullptr),
              "select a hyperslab");
        op = H5S_SELECT_OR;
    }
    hsize_t n = count;
    selection.memory_space = checked(H5Screate_simple(1, &n, nullptr), "make a memory dataspace");
    return selection;
}

}  // namespace h5swmrfs::h5
