#include "h5/reinterpret.h"

#include <algorithm>
#include <limits>

#include "h5/dataset.h"
#include "h5/dtype.h"
#include "h5/numpy.h"
#include "h5/recreate.h"

namespace h5swmrfs::h5 {
namespace {

ByteForm form_of(hid_t dataset, const std::string& path) {
    Id file_type = checked(H5Dget_type(dataset), "read the datatype");
    ByteForm form = byte_form(file_type.get());
    if (form.vlen_string) throw Error(EINVAL, path + ": variable-length strings cannot be reinterpreted");
    return form;
}

// Replaces the dataset by one of `type` and `shape` filled with the bytes `reader` reads.
Id rewrite(DatasetReader& reader, hid_t group, const std::string& name, hid_t type,
           const std::vector<std::uint64_t>& shape, const std::function<void()>& between_pieces) {
    const std::uint64_t total = reader.size();
    return recreate_dataset(group, name, type, shape, [&](DatasetWriter& writer) {
        constexpr std::uint64_t kPiece = 16u << 20;
        std::vector<std::byte> buffer;
        for (std::uint64_t at = 0; at < total; at += kPiece) {
            buffer.resize(std::min(kPiece, total - at));
            reader.read(at, buffer);
            between_pieces();
            writer.write(at, buffer);
        }
    });
}

}  // namespace

std::uint64_t bytes_of(const std::vector<std::uint64_t>& shape, std::uint64_t element_size, const std::string& what) {
    std::uint64_t bytes = element_size;
    for (std::uint64_t extent : shape) {
        if (extent && bytes > std::numeric_limits<std::uint64_t>::max() / extent)
            throw Error(EINVAL, what + ": more bytes than can exist");
        bytes *= extent;
    }
    return bytes;
}

Id reinterpret_as_type(Id dataset, hid_t group, const std::string& name, const std::string& dtype,
                       const std::string& path, const std::function<void()>& between_pieces) {
    const std::uint64_t old_size = form_of(dataset.get(), path).element_size;
    DatasetReader reader(std::move(dataset));
    std::vector<std::uint64_t> shape = reader.shape();
    Id type = numpy_type(dtype);
    const std::uint64_t new_size = type_size(type.get());
    if (shape.empty()) {
        if (old_size != new_size) throw Error(EINVAL, path + ": a scalar keeps its element size");
    } else if (shape.back() * old_size % new_size != 0) {
        throw Error(EINVAL, path + ": the last axis of " + std::to_string(shape.back() * old_size) +
                                " bytes is not a whole number of " + dtype + " elements");
    } else {
        shape.back() = shape.back() * old_size / new_size;
    }
    return rewrite(reader, group, name, type.get(), shape, between_pieces);
}

Id reinterpret_as_shape(Id dataset, hid_t group, const std::string& name, const std::vector<std::uint64_t>& shape,
                        const std::string& path, const std::function<void()>& between_pieces) {
    Id type = numpy_type(form_of(dataset.get(), path).numpy);
    DatasetReader reader(std::move(dataset));
    const std::uint64_t bytes = bytes_of(shape, type_size(type.get()), path + ": the shape given");
    if (bytes != reader.size())
        throw Error(EINVAL, path + ": the shape given holds " + std::to_string(bytes) + " bytes, the dataset " +
                                std::to_string(reader.size()));
    return rewrite(reader, group, name, type.get(), shape, between_pieces);
}

}  // namespace h5swmrfs::h5
