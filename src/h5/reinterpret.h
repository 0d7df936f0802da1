// The bytes of a dataset read another way: setfattr user.h5.dtype / user.h5.shape (SPEC §4).
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "h5/id.h"

namespace h5swmrfs::h5 {

// The bytes of `shape` elements of `element_size` bytes each; Error(EINVAL, what + the
// reason) when there would be 2^64 or more.
std::uint64_t bytes_of(const std::vector<std::uint64_t>& shape, std::uint64_t element_size, const std::string& what);

// Replaces `dataset` (link `name` of `group`) by one that holds the same bytes, read as
// NumPy type `dtype` (the last axis scaled to fit) or with another `shape`. Before each
// piece is written, `between_pieces` runs (a writer checks its hold there). Error(EINVAL,
// path + the reason), nothing changed, when the bytes cannot be read that way. Returns
// the new dataset.
Id reinterpret_as_type(Id dataset, hid_t group, const std::string& name, const std::string& dtype,
                       const std::string& path, const std::function<void()>& between_pieces);
Id reinterpret_as_shape(Id dataset, hid_t group, const std::string& name, const std::vector<std::uint64_t>& shape,
                        const std::string& path, const std::function<void()>& between_pieces);

}  // namespace h5swmrfs::h5
