// What decides whether a dataset's stored bytes may be read past HDF5: only when the
// bytes H5Dread would give are those bytes, or those bytes with some fields byte-swapped.
#include "h5/storage_map.h"

#include <algorithm>

#include "h5/hyperslab.h"

namespace h5swmrfs::h5 {
namespace {

bool equal_types(hid_t a, hid_t b) {
    const htri_t equal = H5Tequal(a, b);
    if (equal < 0) H5Eclear2(H5E_DEFAULT);
    return equal > 0;
}

// Whether H5Dread of file type `file` into `memory` gives the stored bytes with the fields
// in `swaps` (offsets from `base`) byte-swapped: H5Tequal types are copied as they are
// (HDF5's no-op conversion), atomic types that differ only in byte order are swapped,
// compounds and arrays are taken member by member.
bool plan_type(hid_t file, hid_t memory, std::size_t base, std::vector<ByteSwap>& swaps) {
    const std::size_t size = H5Tget_size(file);
    if (size == 0 || size != H5Tget_size(memory)) return false;
    if (equal_types(file, memory)) return true;
    const H5T_class_t file_class = H5Tget_class(file);
    const H5T_class_t memory_class = H5Tget_class(memory);
    switch (file_class) {
        case H5T_INTEGER:
        case H5T_FLOAT:
        case H5T_BITFIELD: {
            if (memory_class != file_class) return false;
            const H5T_order_t order = H5Tget_order(memory);
            if (order != H5T_ORDER_LE && order != H5T_ORDER_BE) return false;
            Id swapped = copy_type(file);
            if (H5Tset_order(swapped.get(), order) < 0) {
                H5Eclear2(H5E_DEFAULT);
                return false;
            }
            if (!equal_types(swapped.get(), memory)) return false;
            if (size > 1) swaps.push_back({base, size});
            return true;
        }
        case H5T_ENUM: {
            // An enum read as its base integer: HDF5 converts the base type.
            if (memory_class != H5T_INTEGER) return false;
            Id super = checked(H5Tget_super(file), "get enum base type");
            return plan_type(super.get(), memory, base, swaps);
        }
        case H5T_ARRAY: {
            if (memory_class != H5T_ARRAY) return false;
            const int rank = H5Tget_array_ndims(file);
            if (rank < 0 || rank != H5Tget_array_ndims(memory)) return false;
            std::vector<hsize_t> dims(static_cast<std::size_t>(rank)), memory_dims(dims.size());
            if (H5Tget_array_dims2(file, dims.data()) < 0 || H5Tget_array_dims2(memory, memory_dims.data()) < 0 ||
                dims != memory_dims)
                return false;
            Id file_super = checked(H5Tget_super(file), "get array element type");
            Id memory_super = checked(H5Tget_super(memory), "get array element type");
            std::vector<ByteSwap> element;
            if (!plan_type(file_super.get(), memory_super.get(), 0, element)) return false;
            const std::size_t element_size = H5Tget_size(file_super.get());
            if (element_size == 0 || size % element_size) return false;
            for (std::size_t at = 0; at < size; at += element_size)
                for (const ByteSwap& swap : element) swaps.push_back({base + at + swap.offset, swap.size});
            return true;
        }
        case H5T_COMPOUND: {
            if (memory_class != H5T_COMPOUND) return false;
            const int count = H5Tget_nmembers(file);
            if (count <= 0 || count != H5Tget_nmembers(memory)) return false;
            // A converted compound leaves the bytes between members to chance: only
            // compounds whose members cover every byte are taken.
            std::vector<std::pair<std::size_t, std::size_t>> covered;
            for (unsigned i = 0; i < static_cast<unsigned>(count); ++i) {
                char* file_name = H5Tget_member_name(file, i);
                char* memory_name = H5Tget_member_name(memory, i);
                const bool same_name = file_name && memory_name && std::string(file_name) == memory_name;
                H5free_memory(file_name);
                H5free_memory(memory_name);
                const std::size_t offset = H5Tget_member_offset(file, i);
                if (!same_name || offset != H5Tget_member_offset(memory, i)) return false;
                Id file_member = checked(H5Tget_member_type(file, i), "get compound member type");
                Id memory_member = checked(H5Tget_member_type(memory, i), "get compound member type");
                if (!plan_type(file_member.get(), memory_member.get(), base + offset, swaps)) return false;
                covered.emplace_back(offset, H5Tget_size(file_member.get()));
            }
            std::sort(covered.begin(), covered.end());
            std::size_t end = 0;
            for (const auto& [offset, length] : covered) {
                if (offset != end) return false;
                end = offset + length;
            }
            return end == size;
        }
        default:
            // Strings that HDF5 converts (NULLTERM, SPACEPAD), references, vlen: no.
            return false;
    }
}

bool plan_filters(hid_t dcpl, std::size_t element_size, std::vector<Filter>& filters, std::string& why) {
    const int count = H5Pget_nfilters(dcpl);
    if (count < 0) fail("read the filter pipeline");
    for (int i = 0; i < count; ++i) {
        unsigned flags = 0, config = 0;
        unsigned values[16];
        std::size_t nvalues = 16;
        char name[64] = {0};
        const H5Z_filter_t id =
            H5Pget_filter2(dcpl, static_cast<unsigned>(i), &flags, &nvalues, values, sizeof name, name, &config);
        switch (id) {
            case H5Z_FILTER_DEFLATE: filters.push_back({Filter::Kind::Deflate}); break;
            case H5Z_FILTER_FLETCHER32: filters.push_back({Filter::Kind::Fletcher32}); break;
            case H5Z_FILTER_SHUFFLE:
                filters.push_back({Filter::Kind::Shuffle, nvalues > 0 ? values[0] : element_size});
                break;
            default:
                why = "filter " + std::to_string(id) + (name[0] ? std::string(" (") + name + ")" : "");
                return false;
        }
    }
    if (filters.size() > 32) {
        why = "more filters than a chunk's filter mask tells";
        return false;
    }
    return true;
}

// One element as unallocated storage reads: HDF5 fills it with the fill value unless told
// never to, in which case the reader's buffer, zeros here, stays as it was.
bool plan_fill(hid_t dcpl, hid_t memory_type, std::size_t element_size, std::vector<std::byte>& fill, std::string& why) {
    H5D_fill_value_t status;
    check(H5Pfill_value_defined(dcpl, &status), "read the fill value");
    H5D_fill_time_t time;
    check(H5Pget_fill_time(dcpl, &time), "read the fill time");
    fill.assign(element_size, std::byte{0});
    if (status == H5D_FILL_VALUE_UNDEFINED) {
        why = "undefined fill value";
        return false;
    }
    if (status == H5D_FILL_VALUE_USER_DEFINED && time != H5D_FILL_TIME_NEVER)
        check(H5Pget_fill_value(dcpl, memory_type, fill.data()), "read the fill value");
    return true;
}

}  // namespace

std::uint64_t StorageMap::chunk_bytes() const {
    return element_count(chunk) * element_size;
}

std::optional<StorageMap> storage_map(hid_t dataset, hid_t memory_type, std::string& why) {
    StorageMap map;
    Id dcpl = checked(H5Dget_create_plist(dataset), "read the dataset's creation properties");
    Id type = checked(H5Dget_type(dataset), "read the datatype");
    Id space = checked(H5Dget_space(dataset), "read the dataspace");
    const H5S_class_t kind = H5Sget_simple_extent_type(space.get());
    if (kind != H5S_SIMPLE && kind != H5S_SCALAR) {
        why = "null dataspace";
        return std::nullopt;
    }
    const int rank = H5Sget_simple_extent_ndims(space.get());
    if (rank < 0) fail("read the dataspace");
    std::vector<hsize_t> dims(static_cast<std::size_t>(rank));
    if (rank > 0) check(H5Sget_simple_extent_dims(space.get(), dims.data(), nullptr), "read the dataspace");
    map.shape.assign(dims.begin(), dims.end());

    if (!plan_type(type.get(), memory_type, 0, map.swaps)) {
        why = "the datatype is converted";
        return std::nullopt;
    }
    map.element_size = H5Tget_size(memory_type);
    std::sort(map.swaps.begin(), map.swaps.end(), [](const ByteSwap& a, const ByteSwap& b) { return a.offset < b.offset; });

    switch (H5Pget_layout(dcpl.get())) {
        case H5D_CONTIGUOUS: {
            if (H5Pget_external_count(dcpl.get()) != 0) {
                why = "external storage";
                return std::nullopt;
            }
            const haddr_t address = H5Dget_offset(dataset);
            if (address == HADDR_UNDEF) H5Eclear2(H5E_DEFAULT);  // not allocated yet
            map.address = address == HADDR_UNDEF ? StorageMap::kUnallocated : address;
            map.stored_bytes = H5Dget_storage_size(dataset);
            break;
        }
        case H5D_CHUNKED: {
            map.chunked = true;
            std::vector<hsize_t> chunk(static_cast<std::size_t>(rank));
            if (H5Pget_chunk(dcpl.get(), rank, chunk.data()) != rank) fail("read the chunk shape");
            map.chunk.assign(chunk.begin(), chunk.end());
            if (std::find(map.chunk.begin(), map.chunk.end(), 0) != map.chunk.end()) {
                why = "empty chunk shape";
                return std::nullopt;
            }
            unsigned options = 0;
            check(H5Pget_chunk_opts(dcpl.get(), &options), "read the chunk options");
            if (options & H5D_CHUNK_DONT_FILTER_PARTIAL_CHUNKS) {
                why = "edge chunks stored unfiltered";
                return std::nullopt;
            }
            if (!plan_filters(dcpl.get(), map.element_size, map.filters, why)) return std::nullopt;
            break;
        }
        case H5D_COMPACT: why = "compact layout"; return std::nullopt;
        case H5D_VIRTUAL: why = "virtual layout"; return std::nullopt;
        default: why = "unknown layout"; return std::nullopt;
    }
    if (!plan_fill(dcpl.get(), memory_type, map.element_size, map.fill, why)) return std::nullopt;
    return map;
}

ChunkPlace chunk_place(hid_t dataset, std::span<const std::uint64_t> start) {
    std::vector<hsize_t> offset(start.begin(), start.end());
    unsigned mask = 0;
    haddr_t address = HADDR_UNDEF;
    hsize_t size = 0;
    check(H5Dget_chunk_info_by_coord(dataset, offset.data(), &mask, &address, &size), "find a chunk");
    ChunkPlace place;
    if (address != HADDR_UNDEF) {
        place.address = address;
        place.size = size;
        place.filter_mask = mask;
    }
    return place;
}

}  // namespace h5swmrfs::h5
