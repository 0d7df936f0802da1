#include "h5/dataset.h"
#include "h5/vlen.h"

#include <cstring>
#include <limits>

#include "h5/direct_read.h"
#include "h5/hyperslab.h"
#include "h5/selection.h"
#include "h5/shape_text.h"

namespace h5swmrfs::h5 {
namespace {

std::string layout_name(hid_t dcpl) {
    switch (H5Pget_layout(dcpl)) {
        case H5D_COMPACT: return "compact";
        case H5D_CHUNKED: return "chunked";
        case H5D_VIRTUAL: return "virtual";
        case H5D_CONTIGUOUS: return H5Pget_external_count(dcpl) > 0 ? "external" : "contiguous";
        default: return "unknown";
    }
}

std::string filter_names(hid_t dcpl) {
    std::string out;
    int count = H5Pget_nfilters(dcpl);
    for (int i = 0; i < count; ++i) {
        unsigned flags = 0, config = 0;
        unsigned values[16];
        std::size_t nvalues = 16;
        char name[64] = {0};
        H5Z_filter_t id = H5Pget_filter2(dcpl, static_cast<unsigned>(i), &flags, &nvalues, values, sizeof name, name, &config);
        if (id < 0) fail("read the filter pipeline");
        if (!out.empty()) out += ',';
        switch (id) {
            case H5Z_FILTER_DEFLATE: out += "deflate=" + std::to_string(nvalues ? values[0] : 0); break;
            case H5Z_FILTER_SHUFFLE: out += "shuffle"; break;
            case H5Z_FILTER_FLETCHER32: out += "fletcher32"; break;
            case H5Z_FILTER_SZIP: out += "szip"; break;
            case H5Z_FILTER_NBIT: out += "nbit"; break;
            case H5Z_FILTER_SCALEOFFSET: out += "scaleoffset"; break;
            default: out += "filter" + std::to_string(id); break;
        }
    }
    return out;
}

std::vector<std::uint64_t> chunk_shape(hid_t dcpl) {
    if (H5Pget_layout(dcpl) != H5D_CHUNKED) return {};
    int rank = H5Pget_chunk(dcpl, 0, nullptr);
    if (rank < 0) fail("read the chunk shape");
    std::vector<hsize_t> dims(static_cast<std::size_t>(rank));
    check(H5Pget_chunk(dcpl, rank, dims.data()), "read the chunk shape");
    return {dims.begin(), dims.end()};
}

struct Extent {
    H5S_class_t kind = H5S_NO_CLASS;
    std::vector<std::uint64_t> dims, max;
};

Extent extent_of(hid_t dataset) {
    Id space = checked(H5Dget_space(dataset), "read the dataspace");
    Extent extent;
    extent.kind = H5Sget_simple_extent_type(space.get());
    int rank = H5Sget_simple_extent_ndims(space.get());
    if (rank < 0) fail("read the dataspace");
    std::vector<hsize_t> dims(static_cast<std::size_t>(rank)), max(static_cast<std::size_t>(rank));
    if (rank > 0) check(H5Sget_simple_extent_dims(space.get(), dims.data(), max.data()), "read the dataspace");
    extent.dims.assign(dims.begin(), dims.end());
    extent.max.assign(max.begin(), max.end());
    return extent;
}

}  // namespace

DatasetReader::DatasetReader(Id dataset) : dataset_(std::move(dataset)) {
    {
        Id dcpl = checked(H5Dget_create_plist(dataset_.get()), "read the creation properties");
        indirect_ = H5Pget_layout(dcpl.get()) == H5D_VIRTUAL;
    }
    Extent extent = extent_of(dataset_.get());
    null_space_ = extent.kind == H5S_NULL;
    scalar_ = extent.kind == H5S_SCALAR;
    shape_ = std::move(extent.dims);

    Id type = checked(H5Dget_type(dataset_.get()), "read the datatype");
    try {
        form_ = byte_form(type.get());
    } catch (const Error& e) {
        form_error_ = e.what();
        return;
    }
    if (form_->vlen_string) {
        load_text();
        size_ = text_->size();
    } else if (!null_space_) {
        std::uint64_t elements = element_count(shape_);
        if (form_->element_size && elements > std::numeric_limits<std::uint64_t>::max() / form_->element_size)
            throw Error(EFBIG, "dataset too large");
        size_ = elements * form_->element_size;
    }
}

std::uint64_t DatasetReader::storage_size() const { return H5Dget_storage_size(dataset_.get()); }

void DatasetReader::load_text() {
    std::string text;
    std::uint64_t elements = null_space_ ? 0 : element_count(shape_);
    if (elements > 0) {
        std::vector<char*> strings(elements, nullptr);
        Id space = checked(H5Dget_space(dataset_.get()), "read the dataspace");
        const VlenReclaim reclaim(form_->memory_type.get(), space.get(), strings.data());
        check(H5Dread(dataset_.get(), form_->memory_type.get(), H5S_ALL, H5S_ALL, H5P_DEFAULT, strings.data()),
              "read strings");
        for (char* s : strings) {
            if (s) text += s;
            text += '\n';
        }
    }
    text_ = std::move(text);
}

void DatasetReader::use_direct(DirectReads& reads, std::uint64_t address, const std::string& name) {
    if (!form_ || text_ || null_space_) return;
    direct_ = reads.dataset(dataset_.get(), address, form_->memory_type.get(), name);
}

std::optional<StoredRange> DatasetReader::stored(std::uint64_t offset, std::size_t size) const {
    if (!direct_) return std::nullopt;
    return direct_->stored(offset, size);
}

std::optional<DecodedRange> DatasetReader::decoded(std::uint64_t offset, std::size_t size,
                                                   const std::shared_ptr<const void>& keep) {
    if (!direct_) return std::nullopt;
    return direct_->decoded(dataset_.get(), offset, size, keep);
}

void DatasetReader::require_byte_form() const {
    if (!form_) throw Error(EOPNOTSUPP, form_error_);
}

std::size_t DatasetReader::read(std::uint64_t offset, std::span<std::byte> out, const std::shared_ptr<const void>& keep) {
    require_byte_form();
    if (direct_) return direct_->read(dataset_.get(), offset, out, keep);
    if (text_) {
        if (offset >= text_->size()) return 0;
        std::size_t n = std::min<std::uint64_t>(out.size(), text_->size() - offset);
        std::memcpy(out.data(), text_->data() + offset, n);
        return n;
    }
    if (null_space_) return 0;
    const std::uint64_t element_size = form_->element_size;
    ElementSpan span = elements_for_bytes(size_ / std::max<std::uint64_t>(element_size, 1), element_size, offset, out.size());
    if (span.count == 0) return 0;

    ElementSelection selection = select_elements(dataset_.get(), shape_, scalar_, span.first, span.count);
    // Whole elements land straight in the reply buffer; a range that cuts an
    // element goes through a scratch buffer of the elements it touches.
    const std::uint64_t touched = span.count * element_size;
    if (span.skip == 0 && span.length == touched) {
        check(H5Dread(dataset_.get(), form_->memory_type.get(), selection.memory_space.get(), selection.file_space.get(), H5P_DEFAULT,
                      out.data()),
              "read the dataset");
    } else {
        std::vector<std::byte> scratch(touched);
        check(H5Dread(dataset_.get(), form_->memory_type.get(), selection.memory_space.get(), selection.file_space.get(), H5P_DEFAULT,
                      scratch.data()),
              "read the dataset");
        std::memcpy(out.data(), scratch.data() + span.skip, span.length);
    }
    return span.length;
}

std::string dataset_identity(hid_t dataset) {
    std::string identity;
    for (const auto& [name, value] : dataset_metadata(dataset))
        if (name != "user.h5.shape") identity += value + "\n";
    const haddr_t data = H5Dget_offset(dataset);  // HADDR_UNDEF unless contiguous and allocated
    H5Eclear2(H5E_DEFAULT);
    if (data != HADDR_UNDEF) identity += std::to_string(data);
    return identity;
}

std::vector<std::pair<std::string, std::string>> dataset_metadata(hid_t dataset) {
    Id dcpl = checked(H5Dget_create_plist(dataset), "read the dataset's creation properties");
    Id type = checked(H5Dget_type(dataset), "read the datatype");
    Extent extent = extent_of(dataset);
    std::string dtype;
    try {
        dtype = byte_form(type.get()).numpy;
    } catch (const Error& e) {
        dtype = std::string("unsupported: ") + e.what();
    }
    std::vector<std::pair<std::string, std::string>> out;
    out.emplace_back("user.h5.dtype", dtype);
    out.emplace_back("user.h5.shape", shape_text(extent.dims));
    out.emplace_back("user.h5.maxshape", shape_text(extent.max, true));
    out.emplace_back("user.h5.chunks", shape_text(chunk_shape(dcpl.get())));
    out.emplace_back("user.h5.layout", layout_name(dcpl.get()));
    out.emplace_back("user.h5.filters", filter_names(dcpl.get()));
    return out;
}

}  // namespace h5swmrfs::h5
