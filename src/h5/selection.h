// Dataspace selections for a run of elements in C order (SPEC §3), shared by reads and writes.
#pragma once

#include <cstdint>
#include <vector>

#include "h5/id.h"

namespace h5swmrfs::h5 {

// The file and memory dataspaces that move elements [first, first + count) of `dataset`
// (C order) to or from a packed buffer of `count` elements.
struct ElementSelection {
    Id file_space;
    Id memory_space;
};

ElementSelection select_elements(hid_t dataset, const std::vector<std::uint64_t>& shape, bool scalar,
                                 std::uint64_t first, std::uint64_t count);

}  // namespace h5swmrfs::h5
