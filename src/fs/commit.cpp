#include "fs/commit.h"
#include "fs/space.h"
#include "fs/stat.h"

#include <sys/statvfs.h>

#include <algorithm>
#include <limits>
#include <vector>

#include "h5/dataset_writer.h"
#include "h5/numpy.h"
#include "h5/recreate.h"
#include "h5/reinterpret.h"
#include "util/error.h"
#include "util/log.h"

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

// Writes [from, to) of the dataset from the staged content at [from + shift, to + shift),
// holes as zeros, in pieces.
void write_span(const lock::Hold& hold, const Staging& staged, h5::DatasetWriter& writer, std::uint64_t from,
                std::uint64_t to, std::int64_t shift = 0) {
    const std::uint64_t piece = piece_bytes(writer);
    std::vector<std::byte> buffer;
    for (std::uint64_t at = from; at < to;) {
        const std::uint64_t next = std::min(to, (at / piece + 1) * piece);
        buffer.assign(next - at, std::byte{0});
        staged.overlay(at + shift, buffer);
        hold.check_valid();  // a writer that lost its lease writes nothing more
        writer.write(at, buffer);
        at = next;
    }
}

// Writes the staged ranges that land in [from, to) of the dataset, moved by -shift.
void write_ranges(const lock::Hold& hold, const Staging& staged, h5::DatasetWriter& writer, std::uint64_t from,
                  std::uint64_t to, std::int64_t shift = 0) {
    for (const auto& [start, end] : staged.ranges()) {
        const std::uint64_t a = std::max<std::uint64_t>(start - shift, from), b = std::min<std::uint64_t>(end - shift, to);
        if (a < b) write_span(hold, staged, writer, a, b, shift);
    }
}

std::optional<h5::NpyHeader> npy_header(const Staging& staged) {
    std::vector<std::byte> start(std::min<std::uint64_t>(staged.size(), kNpyHeaderMax));
    staged.overlay(0, start);
    return h5::parse_npy_header(start);
}

// The dataset this open created, made again to fit its content: typed and shaped
// by .npy content, or raw bytes in chunks of 1 MiB rather than the 64 KiB that an
// empty dataset starts with.
struct Rebuild {
    h5::Id type;
    std::vector<std::uint64_t> shape;
    std::uint64_t data_offset = 0;
    std::uint64_t bytes = 0;
};

// What to rebuild, checked (EINVAL for .npy content that does not fit its header); nullopt
// when the dataset stays as it is.
std::optional<Rebuild> rebuild_for(const OpenFile& file) {
    constexpr std::uint64_t kLargeRaw = 1 << 20;
    const Staging& staged = *file.staging;
    if (!file.created || !staged.replaces()) return std::nullopt;
    Rebuild rebuild;
    if (auto header = npy_header(staged)) {
        if (header->fortran_order)
            throw Error(EINVAL, file.node.path + ": Fortran-ordered .npy content is not supported");
        rebuild.type = h5::numpy_type(header->dtype);
        rebuild.shape = header->shape;
        rebuild.data_offset = header->data_offset;
        rebuild.bytes = h5::bytes_of(header->shape, h5::type_size(rebuild.type.get()), file.node.path + ": .npy header");
        if (staged.size() - header->data_offset != rebuild.bytes)
            throw Error(EINVAL, file.node.path + ": .npy data holds " +
                                    std::to_string(staged.size() - header->data_offset) + " bytes, its header says " +
                                    std::to_string(rebuild.bytes));
        return rebuild;
    }
    if (staged.size() < kLargeRaw) return std::nullopt;
    rebuild.type = h5::copy_type(H5T_STD_U8LE);
    rebuild.shape = {staged.size()};
    rebuild.bytes = staged.size();
    return rebuild;
}

void rebuild(View& view, const lock::Hold& hold, OpenFile& file, const Rebuild& plan) {
    h5::Id group = h5::open_object(view.file.id(), parent_path(file.node.path), file.node.directory);
    h5::Id dataset = h5::recreate_dataset(group.get(), base_name(file.node.path), plan.type.get(), plan.shape,
                                          [&](h5::DatasetWriter& writer) {
                                              write_span(hold, *file.staging, writer, 0, plan.bytes,
                                                         static_cast<std::int64_t>(plan.data_offset));
                                          });
    file.node.address = h5::object_info(dataset.get()).address;
    file.identity = h5::dataset_identity(dataset.get());
}

}  // namespace

namespace {

// What a commit of `file` will do, every check made and nothing changed yet.
struct Plan {
    h5::Id object;
    std::optional<Rebuild> rebuild;
    std::uint64_t current = 0, new_size = 0;
    std::int64_t shift = 0;  // staged offset - dataset offset
};

Plan plan_commit(View& view, OpenFile& file) {
    const Staging& staged = *file.staging;
    if (staged.failed())
        throw Error(staged.failed(), file.node.path + ": a write through this open failed; nothing of it is committed");
    Plan plan;
    const std::string known_path = file.node.path;
    plan.object = follow_node(view, file.node);
    if (!h5::is_dataset(plan.object.get())) throw Error(EINVAL, file.node.path + ": not a dataset");
    // Found under another name: moved by another mount, or deleted and its header's place
    // given to a new object. Taken for ours only if it looks as it did to this open.
    if (file.node.path != known_path && h5::dataset_identity(plan.object.get()) != file.identity)
        throw Error(ESTALE, known_path + ": deleted or replaced meanwhile (the dataset now at its place, " +
                                file.node.path + ", is another)");
    if ((plan.rebuild = rebuild_for(file))) {
        check_space(view.path, staged.written_bytes());
        return plan;
    }
    h5::DatasetWriter writer(plan.object.get());
    plan.current = writer.size();
    // Where this open's bytes land and the size the dataset ends with. Appends go
    // to the end as it is now (another writer may have appended since the open);
    // a patch leaves the size as it is now unless it wrote past it.
    if (staged.replaces() || staged.size_was_set()) {
        plan.new_size = staged.size();
    } else if (file.append) {
        plan.shift = static_cast<std::int64_t>(staged.base_size()) - static_cast<std::int64_t>(plan.current);
        plan.new_size = plan.current + (staged.size() - staged.base_size());
    } else {
        plan.new_size = std::max(plan.current, staged.written_end());
    }
    writer.shape_for_size(plan.new_size);
    // Rewritten in place or not, every staged byte passes through the journal
    // (h5/journal.h) or lands in new space.
    check_space(view.path, staged.written_bytes());
    return plan;
}

}  // namespace

void check_commit(View& view, OpenFile& file) { plan_commit(view, file); }

void commit(View& view, const lock::Hold& hold, OpenFile& file) {
    Plan plan = plan_commit(view, file);
    hold.check_valid();
    if (plan.rebuild) {
        rebuild(view, hold, file, *plan.rebuild);  // the old dataset is untouched until the new one is whole
        return;
    }
    const Staging& staged = *file.staging;
    h5::DatasetWriter writer(plan.object.get());
    writer.resize(plan.new_size);
    try {
        if (staged.replaces()) {
            // The old bytes that are not written again become zeros; past the old end
            // the dataset already reads as zeros (its fill value) where nothing is written.
            write_span(hold, staged, writer, 0, std::min(plan.current, plan.new_size));
            write_ranges(hold, staged, writer, plan.current, plan.new_size);
        } else {
            write_ranges(hold, staged, writer, 0, plan.new_size, plan.shift);
        }
    } catch (...) {
        // Back to the old extent, so a failed commit (a full disk) leaves the size as it was.
        try {
            writer.resize(plan.current);
        } catch (const std::exception& e) {
            log::error(file.node.path, ": could not restore the extent after a failed commit: ", e.what());
        }
        throw;
    }
    file.identity = h5::dataset_identity(plan.object.get());  // (contiguous data is placed at the first write)
}

void create_empty_dataset(hid_t group, const std::string& name) {
    constexpr std::uint64_t kChunk = 64 << 10;
    h5::create_dataset(group, name, H5T_STD_U8LE, {0}, {H5S_UNLIMITED}, {kChunk});
}

void resize_dataset(View& view, const Node& node, std::uint64_t size) {
    h5::Id object = open_node(view, node);
    if (!h5::is_dataset(object.get())) throw Error(EINVAL, node.path + ": not a dataset");
    h5::DatasetWriter writer(object.get());
    if (writer.resizable()) check_growth(node.path, writer.size(), size, free_bytes(view.path));  // (fixed: EINVAL below)
    writer.resize(size);
}

}  // namespace h5swmrfs::fs
