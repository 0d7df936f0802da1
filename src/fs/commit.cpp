#include "fs/commit.h"

#include <algorithm>
#include <vector>

#include "h5/dataset_writer.h"
#include "h5/numpy.h"
#include "h5/recreate.h"

namespace h5swmrfs::fs {
namespace {

constexpr std::uint64_t kPieceBytes = 16u << 20;
constexpr std::size_t kNpyHeaderMax = 65536 + 16;

// Bytes per write step: about kPieceBytes, whole rows where rows are smaller
// (so steps never cut an element), whole elements otherwise.
std::uint64_t piece_bytes(const h5::DatasetWriter& writer) {
    const std::uint64_t unit = writer.row_size() && writer.row_size() <= kPieceBytes
                                   ? writer.row_size()
                                   : std::max<std::uint64_t>(writer.element_size(), 1);
    return std::max(unit, kPieceBytes / unit * unit);
}

// Writes [from, to) of the staged content, holes as zeros, in pieces.
void write_span(const lock::Hold& hold, const Staging& staged, h5::DatasetWriter& writer, std::uint64_t from,
                std::uint64_t to, std::uint64_t source_offset = 0) {
    const std::uint64_t piece = piece_bytes(writer);
    std::vector<std::byte> buffer;
    for (std::uint64_t at = from; at < to;) {
        const std::uint64_t next = std::min(to, (at / piece + 1) * piece);
        buffer.assign(next - at, std::byte{0});
        staged.overlay(at + source_offset, buffer);
        hold.check_valid();  // a writer that lost its lease writes nothing more
        writer.write(at, buffer);
        at = next;
    }
}

// Writes the staged ranges that lie in [from, to).
void write_ranges(const lock::Hold& hold, const Staging& staged, h5::DatasetWriter& writer, std::uint64_t from,
                  std::uint64_t to) {
    for (const auto& [start, end] : staged.ranges()) {
        const std::uint64_t a = std::max(start, from), b = std::min(end, to);
        if (a < b) write_span(hold, staged, writer, a, b);
    }
}

std::optional<h5::NpyHeader> npy_header(const Staging& staged) {
    std::vector<std::byte> start(std::min<std::uint64_t>(staged.size(), kNpyHeaderMax));
    staged.overlay(0, start);
    return h5::parse_npy_header(start);
}

// .npy content written into a new file: the dataset takes the array's type and shape.
void commit_npy(View& view, const lock::Hold& hold, OpenFile& file, const h5::NpyHeader& header) {
    const Staging& staged = *file.staging;
    if (header.fortran_order) throw Error(EINVAL, file.node.path + ": Fortran-ordered .npy content is not supported");
    h5::Id type = h5::numpy_type(header.dtype);
    std::uint64_t bytes = H5Tget_size(type.get());
    for (std::uint64_t extent : header.shape) bytes *= extent;
    if (staged.size() - header.data_offset != bytes)
        throw Error(EINVAL, file.node.path + ": .npy data holds " + std::to_string(staged.size() - header.data_offset) +
                                " bytes, its header says " + std::to_string(bytes));
    h5::Id group = h5::open_object(view.file.id(), parent_path(file.node.path), file.node.directory);
    h5::Id dataset = h5::recreate_dataset(group.get(), base_name(file.node.path), type.get(), header.shape,
                                          [&](h5::DatasetWriter& writer) {
                                              write_span(hold, staged, writer, 0, bytes, header.data_offset);
                                          });
    file.node.address = h5::object_info(dataset.get()).address;
}

}  // namespace

void commit(View& view, const lock::Hold& hold, OpenFile& file) {
    const Staging& staged = *file.staging;
    h5::Id object = h5::open_object(view.file.id(), file.node.address);
    if (H5Iget_type(object.get()) != H5I_DATASET) throw Error(EINVAL, file.node.path + ": not a dataset");
    if (file.created && staged.replaces()) {
        if (auto header = npy_header(staged)) {
            commit_npy(view, hold, file, *header);
            return;
        }
    }
    h5::DatasetWriter writer(object.get());
    const std::uint64_t old_size = writer.size(), new_size = staged.size();
    writer.shape_for_size(new_size);  // sizes are checked before anything changes
    hold.check_valid();
    writer.resize(new_size);
    if (staged.replaces()) {
        // The old bytes that are not written again become zeros; past the old end
        // the dataset already reads as zeros (its fill value) where nothing is written.
        write_span(hold, staged, writer, 0, std::min(old_size, new_size));
        write_ranges(hold, staged, writer, old_size, new_size);
    } else {
        write_ranges(hold, staged, writer, 0, new_size);
    }
}

void create_empty_dataset(hid_t group, const std::string& name) {
    constexpr std::uint64_t kChunk = 64 << 10;
    h5::create_dataset(group, name, H5T_STD_U8LE, {0}, {H5S_UNLIMITED}, {kChunk});
}

void resize_dataset(View& view, const Node& node, std::uint64_t size) {
    h5::Id object = h5::open_object(view.file.id(), node.address);
    if (H5Iget_type(object.get()) != H5I_DATASET) throw Error(EINVAL, node.path + ": not a dataset");
    h5::DatasetWriter(object.get()).resize(size);
}

}  // namespace h5swmrfs::fs
