#include "h5/dataset_writer.h"

#include <algorithm>
#include <cstring>
#include <limits>

#include "h5/hyperslab.h"
#include "h5/selection.h"

namespace h5swmrfs::h5 {
namespace {

ByteForm writable_form(hid_t dataset, hid_t memory_type) {
    ByteForm form;
    if (memory_type >= 0) {
        form.memory_type = checked(H5Tcopy(memory_type), "copy a datatype");
        form.element_size = H5Tget_size(memory_type);
        return form;
    }
    Id type = checked(H5Dget_type(dataset), "read the datatype");
    try {
        form = byte_form(type.get());
    } catch (const Error& e) {
        throw Error(EINVAL, std::string("cannot write this type: ") + e.what());
    }
    if (form.vlen_string) throw Error(EINVAL, "variable-length strings are read-only text");
    return form;
}

}  // namespace

DatasetWriter::DatasetWriter(hid_t dataset, hid_t memory_type)
    : dataset_(dataset), form_(writable_form(dataset, memory_type)) {
    Id space = checked(H5Dget_space(dataset), "read the dataspace");
    H5S_class_t kind = H5Sget_simple_extent_type(space.get());
    scalar_ = kind == H5S_SCALAR;
    int rank = H5Sget_simple_extent_ndims(space.get());
    if (rank < 0) fail("read the dataspace");
    std::vector<hsize_t> dims(static_cast<std::size_t>(rank)), max(static_cast<std::size_t>(rank));
    if (rank > 0) check(H5Sget_simple_extent_dims(space.get(), dims.data(), max.data()), "read the dataspace");
    shape_.assign(dims.begin(), dims.end());
    max_shape_.assign(max.begin(), max.end());
    if (kind == H5S_NULL) throw Error(EINVAL, "a dataset with a null dataspace holds no bytes");

    row_size_ = form_.element_size;
    for (std::size_t i = 1; i < shape_.size(); ++i) {
        if (shape_[i] && row_size_ > std::numeric_limits<std::uint64_t>::max() / shape_[i])
            throw Error(EFBIG, "dataset too large");
        row_size_ *= shape_[i];
    }
    resizable_ = !shape_.empty() && max_shape_[0] != shape_[0];
    size_ = element_count(shape_) * form_.element_size;
}

std::vector<std::uint64_t> DatasetWriter::shape_for_size(std::uint64_t bytes) const {
    if (bytes == size_) return shape_;
    if (!resizable_)
        throw Error(EINVAL, "size " + std::to_string(bytes) + " does not match the dataset's fixed size " +
                                std::to_string(size_));
    if (row_size_ == 0) throw Error(EINVAL, "rows of this dataset hold no bytes");
    if (bytes % row_size_ != 0)
        throw Error(EINVAL, "size " + std::to_string(bytes) + " is not a whole number of rows of " +
                                std::to_string(row_size_) + " bytes");
    std::uint64_t rows = bytes / row_size_;
    if (max_shape_[0] != H5S_UNLIMITED && rows > max_shape_[0])
        throw Error(EFBIG, std::to_string(rows) + " rows exceed the maximum of " + std::to_string(max_shape_[0]));
    std::vector<std::uint64_t> shape = shape_;
    shape[0] = rows;
    return shape;
}

std::uint64_t DatasetWriter::max_size() const {
    constexpr std::uint64_t kUnlimited = std::numeric_limits<std::uint64_t>::max();
    if (!resizable_) return size_;
    if (max_shape_[0] == H5S_UNLIMITED) return kUnlimited;
    if (row_size_ && max_shape_[0] > kUnlimited / row_size_) return kUnlimited;
    return max_shape_[0] * row_size_;
}

void DatasetWriter::resize(std::uint64_t bytes) {
    std::vector<std::uint64_t> shape = shape_for_size(bytes);
    if (shape == shape_) return;
    std::vector<hsize_t> dims(shape.begin(), shape.end());
    check(H5Dset_extent(dataset_, dims.data()), "change the dataset's extent");
    shape_ = std::move(shape);
    size_ = bytes;
}

void DatasetWriter::write(std::uint64_t offset, std::span<const std::byte> data) {
    if (data.empty()) return;
    if (offset > size_ || data.size() > size_ - offset) throw Error(EFBIG, "write past the end of the dataset");
    const std::uint64_t element = form_.element_size;
    ElementSpan span = elements_for_bytes(size_ / element, element, offset, data.size());
    const std::uint64_t touched = span.count * element;
    hid_t type = form_.memory_type.get();

    auto read_element = [&](std::uint64_t index, std::byte* into) {
        ElementSelection one = select_elements(dataset_, shape_, scalar_, index, 1);
        check(H5Dread(dataset_, type, one.memory_space.get(), one.file_space.get(), H5P_DEFAULT, into),
              "read an element to patch");
    };

    ElementSelection selection = select_elements(dataset_, shape_, scalar_, span.first, span.count);
    if (span.skip == 0 && span.length == touched) {
        check(H5Dwrite(dataset_, type, selection.memory_space.get(), selection.file_space.get(), H5P_DEFAULT,
                       data.data()),
              "write the dataset");
        return;
    }
    // The range cuts an element at one end or both: those elements keep their other bytes.
    std::vector<std::byte> scratch(touched);
    if (span.skip != 0) read_element(span.first, scratch.data());
    if ((span.skip + span.length) % element != 0 && (span.count > 1 || span.skip == 0))
        read_element(span.first + span.count - 1, scratch.data() + touched - element);
    std::memcpy(scratch.data() + span.skip, data.data(), span.length);
    check(H5Dwrite(dataset_, type, selection.memory_space.get(), selection.file_space.get(), H5P_DEFAULT,
                   scratch.data()),
          "write the dataset");
}

Id create_dataset(hid_t group, const std::string& name, hid_t file_type, const std::vector<std::uint64_t>& shape,
                  const std::vector<std::uint64_t>& max_shape, const std::vector<std::uint64_t>& chunks) {
    std::vector<hsize_t> dims(shape.begin(), shape.end()), max(max_shape.begin(), max_shape.end());
    Id space = shape.empty() ? checked(H5Screate(H5S_SCALAR), "make a dataspace")
                             : checked(H5Screate_simple(static_cast<int>(dims.size()), dims.data(), max.data()),
                                       "make a dataspace");
    Id dcpl = checked(H5Pcreate(H5P_DATASET_CREATE), "make dataset creation properties");
    if (!chunks.empty()) {
        std::vector<hsize_t> chunk(chunks.begin(), chunks.end());
        check(H5Pset_chunk(dcpl.get(), static_cast<int>(chunk.size()), chunk.data()), "set the chunk shape");
    }
    Id lcpl = checked(H5Pcreate(H5P_LINK_CREATE), "make link creation properties");
    check(H5Pset_char_encoding(lcpl.get(), H5T_CSET_UTF8), "set the name encoding");
    return checked(H5Dcreate2(group, name.c_str(), file_type, space.get(), lcpl.get(), dcpl.get(), H5P_DEFAULT),
                   "create dataset " + name);
}

std::vector<std::uint64_t> chunks_for(const std::vector<std::uint64_t>& shape, std::uint64_t element_size,
                                      std::uint64_t target_bytes) {
    std::vector<std::uint64_t> chunks(shape.size(), 1);
    std::uint64_t row = std::max<std::uint64_t>(element_size, 1);
    // Inner axes whole while they fit the target, the outer ones filled with whole rows.
    for (std::size_t i = shape.size(); i-- > 1;) {
        std::uint64_t extent = std::max<std::uint64_t>(shape[i], 1);
        if (row * extent > target_bytes) {
            chunks[i] = std::max<std::uint64_t>(1, target_bytes / row);
            row *= chunks[i];
            for (std::size_t j = 1; j < i; ++j) chunks[j] = 1;
            break;
        }
        chunks[i] = extent;
        row *= extent;
    }
    if (!shape.empty()) {
        // Whole chunks are allocated: a small dataset gets a chunk of its own size (at
        // least 64 KiB of rows, room to grow), not `target_bytes`.
        const std::uint64_t small = std::max<std::uint64_t>(1, (64 << 10) / row);
        chunks[0] = std::max<std::uint64_t>(1, std::min(target_bytes / row, std::max(shape[0], small)));
    }
    return chunks;
}

}  // namespace h5swmrfs::h5
