// How an HDF5 datatype appears through the mount: the in-memory layout we read into and the
// NumPy type string (user.h5.dtype) that describes it. The rules follow what h5py 3.7 gives
// for `ds.dtype` and `ds[...]`, converted to this host's byte order (SPEC §3, §4).
#pragma once

#include <cstddef>
#include <string>

#include "h5/id.h"

namespace h5swmrfs::h5 {

// How a dataset's (or attribute's) file datatype appears as bytes through the mount.
struct ByteForm {
    Id memory_type;             // H5Dread/H5Aread into this: h5py's numpy layout, native byte order
    std::size_t element_size = 0;  // H5Tget_size(memory_type); sizeof(char*) for vlen strings
    std::string numpy;          // the user.h5.dtype string
    bool vlen_string = false;   // memory_type is a variable-length C string; present as text (SPEC §3)
};

// Translates a file datatype. Throws Error(ENOTSUP) for what we cannot present as fixed-size
// bytes: variable-length sequences, references, time types, variable-length strings inside
// compounds or arrays, integer/bitfield sizes numpy lacks, floats no numpy type can hold.
//
//  integer        → same size and sign, native order            `<i4`, `|u1`
//  float          → the smallest numpy float that holds its range and mantissa (h5py's rule):
//                   `<f2`, `<f4`, `<f8`, `<f16` (x86 long double, read as H5T_NATIVE_LDOUBLE)
//  bitfield       → unsigned integer of its size (memory type: native bitfield)
//  enum           → its base integer; an enum of exactly FALSE=0, TRUE=1 → `|b1`
//  fixed string   → `|S<n>`, read NULLPAD like h5py (NULLTERM cut at the first NUL, SPACEPAD
//                   trailing spaces dropped)
//  opaque         → `|V<n>` (h5py's "NUMPY:<dtype>" tags → that dtype), bytes as stored
//  array          → `(2, 3)<f8`; of a compound: `([('a', '<i4')], (3,))` (numpy's descr form);
//                   arrays of arrays as one array (h5py's nested `(2,)|V6` says nothing)
//  compound       → `str(dtype.descr)` without numpy metadata, members in offset order with
//                   `('', '|V<n>')` padding; members named exactly r, i of one float type → `<c8`
//  vlen string    → `|O`, vlen_string = true
ByteForm byte_form(hid_t file_type);

}  // namespace h5swmrfs::h5
