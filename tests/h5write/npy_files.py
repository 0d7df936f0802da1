"""Writes .npy files with numpy and prints what their headers say.
Run with /usr/bin/python3: npy_files.py DIR
Prints  NAME<TAB>HEX(descr as a type string)<TAB>SHAPE(comma-separated)<TAB>FORTRAN(0/1)<TAB>DATA_OFFSET<TAB>ITEMSIZE
DATA_OFFSET is the file size less the array's bytes; the descr is what the header holds
(dtype.str, or str() of the list for structured types)."""
import os
import sys
import warnings

import numpy as np
from numpy.lib import format as npy

structured = np.dtype({'names': ['a', 'b'], 'formats': ['<i4', '<f8'], 'offsets': [0, 8], 'itemsize': 24})
nested = np.dtype([('p', [('x', '>f4'), ('y', '<i2')]), ('n', '<u2', (2, 3)), ('flag', '?')])
latin1 = np.dtype([('caf\u00e9', '<f4'), ("it's", '<i2')])
utf8 = np.dtype([('\u65e5\u672c', '<f8'), ('emoji \U0001F600', 'u1')])
wide = np.dtype([(f'field_{i:05d}', '<i2') for i in range(4000)])  # header > 64 KiB: format 2.0

arrays = {
    'f8_3x4': (np.arange(12, dtype='<f8').reshape(3, 4), None),
    'i4_scalar': (np.array(7, dtype='<i4'), None),
    'u2_be': (np.arange(5, dtype='>u2'), None),
    'bool': (np.array([True, False, True]), None),
    'c16': (np.array([1 + 2j, -3j]), None),
    'S7': (np.array([b'abc', b'defghij']), None),
    'fortran': (np.asfortranarray(np.arange(6, dtype='<f4').reshape(2, 3)), None),
    'empty': (np.zeros((0, 3), dtype='<i8'), None),
    'structured': (np.zeros(4, dtype=structured), None),
    'nested': (np.zeros((2, 2), dtype=nested), None),
    'latin1_names': (np.zeros(2, dtype=latin1), None),
    'utf8_names': (np.zeros(2, dtype=utf8), None),
    'wide': (np.zeros(1, dtype=wide), None),
    'v2': (np.arange(4, dtype='<i2'), (2, 0)),
    'v3': (np.arange(4, dtype='<u4'), (3, 0)),
    'datetime': (np.array(['2024-01-01'], dtype='<M8[D]'), None),
}

warnings.simplefilter("ignore")  # "can only be read by NumPy >= ..." for 2.0 and 3.0
out = sys.argv[1]
for name, (array, version) in arrays.items():
    path = os.path.join(out, name + '.npy')
    if version is None:
        np.save(path, array)
    else:
        with open(path, 'wb') as f:
            npy.write_array(f, array, version=version)
    descr = npy.dtype_to_descr(array.dtype)
    text = descr if isinstance(descr, str) else str(descr)
    shape = ','.join(str(n) for n in array.shape)
    offset = os.path.getsize(path) - array.nbytes
    fortran = int(array.flags.f_contiguous and not array.flags.c_contiguous)
    print(f'{name}\t{text.encode().hex()}\t{shape}\t{fortran}\t{offset}\t{array.dtype.itemsize}')
