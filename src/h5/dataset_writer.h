// Changing a dataset's bytes and extent through its byte form (SPEC §5).
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "h5/dtype.h"
#include "h5/id.h"

namespace h5swmrfs::h5 {

class DatasetWriter {
public:
    // Borrows `dataset`. Bytes are taken in its byte form (dtype.h), or laid out as
    // `memory_type` when one is given. Throws Error(EINVAL) for a dataset whose bytes
    // cannot be written: variable-length strings (read-only text), types with no byte form.
    explicit DatasetWriter(hid_t dataset, hid_t memory_type = H5I_INVALID_HID);

    std::uint64_t size() const { return size_; }
    std::size_t element_size() const { return form_.element_size; }
    // Bytes of one step along axis 0 (the whole dataset for a scalar).
    std::uint64_t row_size() const { return row_size_; }
    // Whether the extent along axis 0 may change.
    bool resizable() const { return resizable_; }
    // The largest size in bytes the dataset can take: its size when fixed, else its
    // maximum along axis 0 in whole rows (the largest std::uint64_t when unlimited).
    std::uint64_t max_size() const;

    // The shape that holds exactly `bytes`, checked and changing nothing: the current
    // shape for the current size; otherwise whole rows within the maximum along axis 0.
    // Error(EINVAL) for a fixed size or partial rows, Error(EFBIG) past the maximum.
    std::vector<std::uint64_t> shape_for_size(std::uint64_t bytes) const;
    void resize(std::uint64_t bytes);

    // Writes `data` at byte `offset`, which must lie within size(); elements cut at
    // either end keep their other bytes (read, patched, written back).
    void write(std::uint64_t offset, std::span<const std::byte> data);

private:
    hid_t dataset_;
    ByteForm form_;
    std::vector<std::uint64_t> shape_, max_shape_;
    bool scalar_ = false;
    bool resizable_ = false;
    std::uint64_t size_ = 0;
    std::uint64_t row_size_ = 0;
};

// A new dataset, chunked as `chunks` (contiguous when `chunks` is empty, as it must be for a
// scalar, which has an empty `shape`); `max_shape` entries of H5S_UNLIMITED are unlimited.
Id create_dataset(hid_t group, const std::string& name, hid_t file_type, const std::vector<std::uint64_t>& shape,
                  const std::vector<std::uint64_t>& max_shape, const std::vector<std::uint64_t>& chunks);

// Chunk extents of about `target_bytes` for rows of `row_bytes`, whole rows along axis 0.
std::vector<std::uint64_t> chunks_for(const std::vector<std::uint64_t>& shape, std::uint64_t element_size,
                                      std::uint64_t target_bytes);

}  // namespace h5swmrfs::h5
