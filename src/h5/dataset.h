// A dataset seen as a regular file: its byte form (SPEC §3) and its metadata (SPEC §4).
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <utility>
#include <vector>

#include "h5/dtype.h"
#include "h5/id.h"

namespace h5swmrfs::h5 {

class DirectDataset;
struct StoredRange;
struct DecodedRange;
class DirectReads;

// The user.h5.* extended attributes of a dataset (SPEC §4), in listing order.
std::vector<std::pair<std::string, std::string>> dataset_metadata(hid_t dataset);

// What tells this dataset from another one made later at the same header address (HDF5
// gives a deleted object's address to the next object it makes): its type, maximum shape,
// layout, chunks, filters and, when contiguous, where its data lies. What appends and
// writes change (the shape, the bytes) is not part of it.
std::string dataset_identity(hid_t dataset);

class DatasetReader {
public:
    // Takes ownership of an open dataset. A type that has no byte form is not an
    // error here: size() is 0 and read() fails with the reason.
    explicit DatasetReader(Id dataset);

    // Bytes in the dataset's byte form.
    std::uint64_t size() const { return size_; }
    // Bytes the file allocates for the data (what `du` shows).
    std::uint64_t storage_size() const;
    const std::vector<std::uint64_t>& shape() const { return shape_; }

    // Reads past HDF5 from now on (direct_read.h) when `reads` takes this dataset, found at
    // object address `address` as `name`. Only for a file open read-only under a shared hold.
    void use_direct(DirectReads& reads, std::uint64_t address, const std::string& name);
    bool direct() const noexcept { return direct_ != nullptr; }
    // Whether its bytes are other datasets' (a virtual layout): a change of any object may
    // change them.
    bool indirect() const noexcept { return indirect_; }
    // Throws Error(EOPNOTSUPP) saying why when its type has no byte form (variable-length
    // sequences, references): such a dataset shows size 0 and cannot be read.
    void require_byte_form() const;

    // Copies the bytes at [offset, offset + out.size()) into `out`; returns how many
    // (0 at or past the end). Reads only the elements those bytes cover. `keep` keeps the
    // file as it is (the lock's hold) for the direct path's read-ahead, which runs after
    // this returns; without it nothing is read ahead.
    std::size_t read(std::uint64_t offset, std::span<std::byte> out, const std::shared_ptr<const void>& keep = {});
    // What read() would give, as it lies in the file (DirectDataset::stored), or empty.
    std::optional<StoredRange> stored(std::uint64_t offset, std::size_t size) const;
    // What read() would give, in decoded chunks (DirectDataset::decoded), or empty.
    std::optional<DecodedRange> decoded(std::uint64_t offset, std::size_t size, const std::shared_ptr<const void>& keep);

private:
    void load_text();

    Id dataset_;
    std::optional<ByteForm> form_;
    std::string form_error_;  // why there is no byte form
    std::vector<std::uint64_t> shape_;
    bool scalar_ = false;
    bool null_space_ = false;
    std::uint64_t size_ = 0;
    bool indirect_ = false;
    std::optional<std::string> text_;  // variable-length strings, rendered once
    std::shared_ptr<DirectDataset> direct_;  // null: every read is an H5Dread
};

}  // namespace h5swmrfs::h5
