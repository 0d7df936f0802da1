// The user.h5.dtype text of a numpy dtype: dtype.str, numpy's subarray string, or
// str(dtype.descr) with Python's repr rules. byte_form (dtype.cpp) describes a file datatype
// as a Numpy and prints it with type_string; nothing outside src/h5 uses this.
#pragma once

#include <hdf5.h>

#include <cstddef>
#include <string>
#include <vector>

namespace h5swmrfs::h5 {

// A numpy dtype reduced to what user.h5.dtype needs to print.
struct Numpy {
    enum class Kind { Simple, Subarray, Struct };
    Kind kind = Kind::Simple;
    std::string str;                   // Simple: dtype.str, e.g. "<i4"
    std::vector<hsize_t> shape;        // Subarray: numpy merges nested arrays into one shape
    std::vector<std::string> names;    // Struct: field names in offset order
    std::vector<std::size_t> offsets;  // Struct
    std::vector<Numpy> children;       // Subarray: its element (never a Subarray); Struct: fields
    std::size_t itemsize = 0;
};

Numpy simple_numpy(std::string str, std::size_t itemsize);

// dtype.str of kind `kind` and `size` bytes, in this host's byte order; '|' for one byte,
// as numpy writes types where byte order does not apply.
std::string numpy_str(char kind, std::size_t size);

// user.h5.dtype: dtype.str for simple types, numpy's subarray string for arrays of those,
// str(dtype.descr) for compounds (and descr's tuple form for arrays of compounds).
std::string type_string(const Numpy& type);

}  // namespace h5swmrfs::h5
