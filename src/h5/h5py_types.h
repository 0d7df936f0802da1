// The HDF5 types h5py makes for numpy's types, built in one place for both directions: the
// parser of NumPy type strings (numpy_type.cpp) and the memory types of byte_form (dtype.cpp).
// Nothing outside src/h5 uses it.
#pragma once

#include <bit>
#include <cstddef>
#include <string>

#include "h5/id.h"

namespace h5swmrfs::h5 {

enum class Order { Little, Big };

constexpr Order kHostOrder = std::endian::native == std::endian::little ? Order::Little : Order::Big;

// numpy's longdouble: what H5T_NATIVE_LDOUBLE describes, when it is wider than a double.
constexpr std::size_t kLongDoubleSize = sizeof(long double) > sizeof(double) ? sizeof(long double) : 0;

// Two's complement of 1, 2, 4 or 8 bytes (any other size gives 8).
Id integer_type(bool is_signed, std::size_t size, Order order);

// IEEE binary16, 32, 64 for sizes 2, 4, 8; H5T_NATIVE_LDOUBLE for any other.
Id float_type(std::size_t size, Order order);

// h5py's bool: an enum of int8 with exactly FALSE=0 and TRUE=1.
Id bool_type();

// h5py's complex: a compound of two floats of size/2 bytes named r and i.
Id complex_type(std::size_t size, Order order);

// h5py's numpy 'S': fixed-length, NULLPAD, ASCII.
Id string_type(std::size_t size);

Id opaque_type(std::size_t size, const std::string& tag);

}  // namespace h5swmrfs::h5
