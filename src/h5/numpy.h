// NumPy type strings and .npy headers → HDF5 types (the reverse of dtype.h), for
// `setfattr -n user.h5.dtype` and for .npy content written into a new file (SPEC §5).
// numpy_type.cpp and npy_header.cpp implement it.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

#include "h5/id.h"

namespace h5swmrfs::h5 {

// The HDF5 type whose bytes have exactly the layout `dtype` describes, in the byte order
// it names: '<f8', '>i4', '|u1', '|b1' (h5py's bool enum), '|S16', '|V8' (opaque), '<c16'
// (h5py's complex compound r/i), '(3,)<i4' and '(2, 3)<f8' (arrays), compounds in
// str(dtype.descr) form "[('a', '<i4'), ('', '|V4'), ('b', '<f8', (2,))]" with padding
// entries as gaps (offsets and itemsize kept), and whatever else byte_form() prints, so
// that numpy_type(byte_form(t).numpy) describes the same bytes as byte_form(t).memory_type.
// Throws Error(EINVAL, message naming what it could not parse) for anything else,
// including object ('|O') and zero-size types.
Id numpy_type(const std::string& dtype);

struct NpyHeader {
    std::string dtype;                 // the header's 'descr', as a NumPy type string
    std::vector<std::uint64_t> shape;  // empty for a scalar
    bool fortran_order = false;
    std::uint64_t data_offset = 0;     // where the array's bytes start
};

// The header of .npy content (format versions 1.0, 2.0 and 3.0). `start` holds the first
// bytes of the content (all of it, or at least 65 KiB). nullopt when it does not begin with
// the .npy magic "\x93NUMPY"; Error(EINVAL) for a malformed or truncated header, and for a
// shape HDF5 refuses (check_shape).
std::optional<NpyHeader> parse_npy_header(std::span<const std::byte> start);

}  // namespace h5swmrfs::h5
