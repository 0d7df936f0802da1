// Replacing a dataset by one of another type or shape, attributes carried over.
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "h5/dataset_writer.h"
#include "h5/id.h"

namespace h5swmrfs::h5 {

// Builds a new dataset of `type` and `shape` beside dataset `name` of `group` (under a
// temporary name), fills it through `fill` (a writer that takes bytes laid out as `type`),
// copies the old one's attributes, then puts it in the old one's place in one step.
// Until that last step the old dataset is untouched, so a failure changes nothing.
// The new dataset is chunked and unlimited along axis 0 (contiguous for a scalar).
// Error(EINVAL) before anything changes for a shape or type HDF5 refuses (h5/bounds.h).
// Returns the new dataset.
Id recreate_dataset(hid_t group, const std::string& name, hid_t type, const std::vector<std::uint64_t>& shape,
                    const std::function<void(DatasetWriter&)>& fill);

}  // namespace h5swmrfs::h5
