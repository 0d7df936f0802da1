// File datatypes → ByteForm (dtype.h): one function per HDF5 datatype class, choosing the
// memory type h5py reads into and the numpy dtype it shows; dtype_string.cpp prints that.
#include "h5/dtype.h"

#include "h5/dtype_string.h"
#include "h5/h5py_types.h"

#include <algorithm>
#include <array>
#include <cstring>
#include <limits>
#include <string_view>
#include <utility>
#include <vector>

namespace h5swmrfs::h5 {
namespace {

[[noreturn]] void unsupported(const std::string& what) {
    throw Error(ENOTSUP, "HDF5 datatype not supported: " + what);
}

// What one file datatype becomes: the memory type we read into and its numpy description.
struct Form {
    Id memory;
    Numpy numpy;
};

// ---- one function per datatype class --------------------------------------------------------

Form form_of(hid_t type);

Form integer_form(hid_t type) {
    std::size_t size = type_size(type);
    H5T_sign_t sign = H5Tget_sign(type);
    if (sign == H5T_SGN_ERROR) fail("get integer sign");
    bool is_signed = sign == H5T_SGN_2;
    hid_t native;
    switch (size) {
        case 1: native = is_signed ? H5T_NATIVE_INT8 : H5T_NATIVE_UINT8; break;
        case 2: native = is_signed ? H5T_NATIVE_INT16 : H5T_NATIVE_UINT16; break;
        case 4: native = is_signed ? H5T_NATIVE_INT32 : H5T_NATIVE_UINT32; break;
        case 8: native = is_signed ? H5T_NATIVE_INT64 : H5T_NATIVE_UINT64; break;
        default: unsupported(std::to_string(size) + "-byte integer (numpy has 1, 2, 4, 8)");
    }
    return {copy_type(native), simple_numpy(numpy_str(is_signed ? 'i' : 'u', size), size)};
}

// numpy's float types in np.typecodes["Float"] order, with the finfo values h5py compares
// (an 80-bit long double counts its explicit integer bit in the mantissa, as HDF5 does).
struct NumpyFloat {
    std::size_t size;
    long nmant;
    long maxexp;
    long minexp;
};

NumpyFloat long_double_info() {
    using L = std::numeric_limits<long double>;
    long nmant = L::digits - 1;
    if (nmant == 63 && L::max_exponent == 16384) ++nmant;
    return {sizeof(long double), nmant, L::max_exponent, L::min_exponent - 1};
}

Form float_form(hid_t type) {
    std::size_t size = type_size(type);
    std::size_t spos, epos, esize, mpos, msize;
    check(H5Tget_fields(type, &spos, &epos, &esize, &mpos, &msize), "get float fields");
    long ebias = static_cast<long>(H5Tget_ebias(type));
    const std::array<NumpyFloat, 4> numpy_floats{{
        {2, 10, 16, -14}, {4, 23, 128, -126}, {8, 52, 1024, -1022}, long_double_info()}};
    long max_exponent = esize < 32 ? (1L << esize) - ebias - 1 : std::numeric_limits<long>::max();
    // h5py's rule: the first numpy float at least as wide that holds the mantissa and exponents.
    for (std::size_t k = 0; k < numpy_floats.size(); ++k) {
        const NumpyFloat& f = numpy_floats[k];
        if (f.size >= size && static_cast<long>(msize) <= f.nmant && max_exponent <= f.maxexp &&
            1 - ebias >= f.minexp) {
            Id memory = k == 0 ? float_type(2, kHostOrder)
                      : copy_type(k == 1 ? H5T_NATIVE_FLOAT : k == 2 ? H5T_NATIVE_DOUBLE : H5T_NATIVE_LDOUBLE);
            return {std::move(memory), simple_numpy(numpy_str('f', f.size), f.size)};
        }
    }
    unsupported("float with " + std::to_string(msize) + "-bit mantissa and " + std::to_string(esize) +
                "-bit exponent (no numpy float holds it)");
}

Form bitfield_form(hid_t type) {
    std::size_t size = type_size(type);
    hid_t native;
    switch (size) {
        case 1: native = H5T_NATIVE_B8; break;
        case 2: native = H5T_NATIVE_B16; break;
        case 4: native = H5T_NATIVE_B32; break;
        case 8: native = H5T_NATIVE_B64; break;
        default: unsupported(std::to_string(size) + "-byte bitfield");
    }
    // HDF5 converts bitfields only to bitfields, so the memory type stays one.
    return {copy_type(native), simple_numpy(numpy_str('u', size), size)};
}

std::string member_name(hid_t type, unsigned index) {
    char* raw = H5Tget_member_name(type, index);
    if (!raw) fail("get member name");
    std::string name(raw);
    H5free_memory(raw);
    return name;
}

// h5py reads an enum whose members are exactly FALSE=0 and TRUE=1 as numpy bool.
bool is_h5py_bool(hid_t type, hid_t base) {
    std::array<unsigned char, 64> value{};
    if (H5Tget_nmembers(type) != 2 || type_size(base) > value.size()) return false;
    bool seen_false = false, seen_true = false;
    for (unsigned i = 0; i < 2; ++i) {
        value.fill(0);
        check(H5Tget_member_value(type, i, value.data()), "get enum member value");
        check(H5Tconvert(base, H5T_NATIVE_LLONG, 1, value.data(), nullptr, H5P_DEFAULT),
              "convert enum member value");
        long long number = 0;
        std::memcpy(&number, value.data(), sizeof number);
        std::string name = member_name(type, i);
        seen_false |= name == "FALSE" && number == 0;
        seen_true |= name == "TRUE" && number == 1;
    }
    return seen_false && seen_true;
}

Form enum_form(hid_t type) {
    Id base = checked(H5Tget_super(type), "get enum base type");
    if (!is_h5py_bool(type, base.get())) {
        // HDF5 converts enum → integer by value, which keeps values that name no member.
        return integer_form(base.get());
    }
    return {bool_type(), simple_numpy("|b1", 1)};
}

Form string_form(hid_t type) {
    htri_t variable = H5Tis_variable_str(type);
    check(variable, "inspect string type");
    if (variable) unsupported("variable-length string inside a compound or array");
    std::size_t size = type_size(type);
    // h5py's memory type: same size and character set, NULLPAD.
    Id memory = copy_type(type);
    check(H5Tset_strpad(memory.get(), H5T_STR_NULLPAD), "set string padding");
    return {std::move(memory), simple_numpy("|S" + std::to_string(size), size)};
}

Form opaque_form(hid_t type) {
    std::size_t size = type_size(type);
    std::string str = "|V" + std::to_string(size);
    if (char* tag = H5Tget_tag(type)) {
        // h5py stores some numpy types (datetime64) as opaque tagged "NUMPY:<dtype.str>".
        std::string_view view(tag);
        if (view.starts_with("NUMPY:") && view.size() > 6) str = view.substr(6);
        H5free_memory(tag);
    }
    // Opaque bytes are never converted: read them exactly as the file holds them.
    return {copy_type(type), simple_numpy(std::move(str), size)};
}

Form array_form(hid_t type) {
    int rank = H5Tget_array_ndims(type);
    check(rank, "get array rank");
    std::vector<hsize_t> dims(static_cast<std::size_t>(rank));
    check(H5Tget_array_dims2(type, dims.data()), "get array dimensions");
    Id super = checked(H5Tget_super(type), "get array element type");
    Form element = form_of(super.get());
    Id memory = checked(H5Tarray_create2(element.memory.get(), static_cast<unsigned>(rank), dims.data()),
                        "create array type");
    Numpy numpy;
    numpy.kind = Numpy::Kind::Subarray;
    numpy.itemsize = type_size(memory.get());
    numpy.shape = dims;
    if (element.numpy.kind == Numpy::Kind::Subarray) {
        numpy.shape.insert(numpy.shape.end(), element.numpy.shape.begin(), element.numpy.shape.end());
        numpy.children = std::move(element.numpy.children);
    } else {
        numpy.children.push_back(std::move(element.numpy));
    }
    return {std::move(memory), std::move(numpy)};
}

struct Member {
    std::string name;
    std::size_t offset;
    H5T_class_t file_class;
    H5T_order_t file_order;
    Form form;
};

// h5py reads a compound of exactly two members r and i of one float type as numpy complex.
bool is_h5py_complex(const std::vector<Member>& members) {
    if (members.size() != 2 || members[0].name != "r" || members[1].name != "i") return false;
    const Member& r = members[0];
    const Member& i = members[1];
    std::size_t size = r.form.numpy.itemsize;
    return r.file_class == H5T_FLOAT && i.file_class == H5T_FLOAT && r.file_order == i.file_order &&
           r.form.numpy.str == i.form.numpy.str && (size == 4 || size == 8 || size == 16);
}

Form complex_form(std::vector<Member>& members) {
    std::size_t part = members[0].form.numpy.itemsize;
    Id memory = checked(H5Tcreate(H5T_COMPOUND, 2 * part), "create complex type");
    check(H5Tinsert(memory.get(), "r", 0, members[0].form.memory.get()), "create complex type");
    check(H5Tinsert(memory.get(), "i", part, members[1].form.memory.get()), "create complex type");
    return {std::move(memory), simple_numpy(numpy_str('c', 2 * part), 2 * part)};
}

Form compound_form(hid_t type) {
    std::size_t size = type_size(type);
    int count = H5Tget_nmembers(type);
    check(count, "get compound members");
    std::vector<Member> members;
    for (unsigned i = 0; i < static_cast<unsigned>(count); ++i) {
        Id member_type = checked(H5Tget_member_type(type, i), "get compound member type");
        H5T_class_t file_class = H5Tget_class(member_type.get());
        std::string name = member_name(type, i);
        members.push_back({std::move(name), H5Tget_member_offset(type, i), file_class,
                           file_class == H5T_FLOAT ? H5Tget_order(member_type.get()) : H5T_ORDER_NONE,
                           form_of(member_type.get())});
    }
    if (is_h5py_complex(members)) return complex_form(members);

    Id memory = checked(H5Tcreate(H5T_COMPOUND, size), "create compound type");
    for (const Member& m : members) {
        if (m.offset + m.form.numpy.itemsize > size) unsupported("compound member " + m.name + " exceeds its type");
        check(H5Tinsert(memory.get(), m.name.c_str(), m.offset, m.form.memory.get()),
              "create compound type with member " + m.name);
    }
    // numpy's descr lists fields by offset (it refuses any other order).
    std::stable_sort(members.begin(), members.end(),
                     [](const Member& a, const Member& b) { return a.offset < b.offset; });
    Numpy numpy;
    numpy.kind = Numpy::Kind::Struct;
    numpy.itemsize = size;
    for (Member& m : members) {
        numpy.names.push_back(std::move(m.name));
        numpy.offsets.push_back(m.offset);
        numpy.children.push_back(std::move(m.form.numpy));
    }
    return {std::move(memory), std::move(numpy)};
}

Form form_of(hid_t type) {
    switch (H5Tget_class(type)) {
        case H5T_INTEGER: return integer_form(type);
        case H5T_FLOAT: return float_form(type);
        case H5T_BITFIELD: return bitfield_form(type);
        case H5T_ENUM: return enum_form(type);
        case H5T_STRING: return string_form(type);
        case H5T_OPAQUE: return opaque_form(type);
        case H5T_ARRAY: return array_form(type);
        case H5T_COMPOUND: return compound_form(type);
        case H5T_VLEN: unsupported("variable-length sequence (only variable-length strings are)");
        case H5T_REFERENCE: unsupported("object or region reference");
        case H5T_TIME: unsupported("time");
        case H5T_NO_CLASS: fail("get datatype class");
        default: unsupported("unknown datatype class");
    }
}

}  // namespace

ByteForm byte_form(hid_t file_type) {
    ByteForm out;
    H5T_class_t type_class = H5Tget_class(file_type);
    if (type_class == H5T_NO_CLASS) fail("get datatype class");
    if (type_class == H5T_STRING && check(H5Tis_variable_str(file_type), "inspect string type") > 0) {
        H5T_cset_t cset = H5Tget_cset(file_type);
        if (cset == H5T_CSET_ERROR) fail("get string character set");
        out.memory_type = copy_type(H5T_C_S1);
        check(H5Tset_size(out.memory_type.get(), H5T_VARIABLE), "create variable-length string type");
        check(H5Tset_cset(out.memory_type.get(), cset), "create variable-length string type");
        out.element_size = type_size(out.memory_type.get());
        out.numpy = "|O";
        out.vlen_string = true;
        return out;
    }
    Form form = form_of(file_type);
    out.element_size = type_size(form.memory.get());
    out.numpy = type_string(form.numpy);
    out.memory_type = std::move(form.memory);
    return out;
}

}  // namespace h5swmrfs::h5
