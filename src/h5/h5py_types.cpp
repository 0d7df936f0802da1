// The HDF5 types h5py makes for numpy's types (see h5py_types.h).
#include "h5/h5py_types.h"

namespace h5swmrfs::h5 {

Id integer_type(bool is_signed, std::size_t size, Order order) {
    bool le = order == Order::Little;
    switch (size) {
        case 1: return copy_type(is_signed ? H5T_STD_I8LE : H5T_STD_U8LE);
        case 2: return copy_type(is_signed ? (le ? H5T_STD_I16LE : H5T_STD_I16BE) : (le ? H5T_STD_U16LE : H5T_STD_U16BE));
        case 4: return copy_type(is_signed ? (le ? H5T_STD_I32LE : H5T_STD_I32BE) : (le ? H5T_STD_U32LE : H5T_STD_U32BE));
        default: return copy_type(is_signed ? (le ? H5T_STD_I64LE : H5T_STD_I64BE) : (le ? H5T_STD_U64LE : H5T_STD_U64BE));
    }
}

Id float_type(std::size_t size, Order order) {
    H5T_order_t h5_order = order == Order::Little ? H5T_ORDER_LE : H5T_ORDER_BE;
    Id type;
    if (size == 2) {
        // IEEE binary16, built the way h5py builds it (HDF5 1.10 has no predefined one).
        type = copy_type(H5T_IEEE_F32LE);
        check(H5Tset_fields(type.get(), 15, 10, 5, 0, 10), "define half float");
        check(H5Tset_size(type.get(), 2), "define half float");
        check(H5Tset_ebias(type.get(), 15), "define half float");
    } else if (size == 4) {
        type = copy_type(H5T_IEEE_F32LE);
    } else if (size == 8) {
        type = copy_type(H5T_IEEE_F64LE);
    } else {
        type = copy_type(H5T_NATIVE_LDOUBLE);
    }
    check(H5Tset_order(type.get(), h5_order), "set float byte order");
    return type;
}

Id bool_type() {
    Id type = checked(H5Tenum_create(H5T_NATIVE_INT8), "create bool type");
    for (signed char value : {0, 1})
        check(H5Tenum_insert(type.get(), value ? "TRUE" : "FALSE", &value), "create bool type");
    return type;
}

Id complex_type(std::size_t size, Order order) {
    Id part = float_type(size / 2, order);
    Id type = checked(H5Tcreate(H5T_COMPOUND, size), "create complex type");
    check(H5Tinsert(type.get(), "r", 0, part.get()), "create complex type");
    check(H5Tinsert(type.get(), "i", size / 2, part.get()), "create complex type");
    return type;
}

Id string_type(std::size_t size) {
    Id type = copy_type(H5T_C_S1);
    check(H5Tset_size(type.get(), size), "create string type");
    check(H5Tset_strpad(type.get(), H5T_STR_NULLPAD), "create string type");
    return type;
}

Id opaque_type(std::size_t size, const std::string& tag) {
    Id type = checked(H5Tcreate(H5T_OPAQUE, size), "create opaque type");
    check(H5Tset_tag(type.get(), tag.c_str()), "set opaque tag");
    return type;
}

}  // namespace h5swmrfs::h5
