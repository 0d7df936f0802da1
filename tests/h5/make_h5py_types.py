"""Writes an HDF5 file with the types h5py itself creates (bool, enums, complex, tagged opaque,
strings, compounds), as datasets under /d and as attributes of /, /a and /d/ints.
Run with /usr/bin/python3: make_h5py_types.py FILE"""
import sys

import h5py
import numpy as np

rng = np.random.default_rng(7)


def values(dtype, shape=(5,)):
    """Deterministic data of any dtype, from random bytes fixed up where numpy needs it."""
    dtype = np.dtype(dtype)
    base, subshape = dtype.subdtype or (dtype, ())
    raw = rng.integers(0, 256, size=int(np.prod(shape + subshape)) * base.itemsize, dtype=np.uint8)
    arr = np.frombuffer(raw.tobytes(), dtype=base).reshape(shape + subshape).copy()
    if base.kind == 'b':
        arr = rng.integers(0, 2, size=shape + subshape).astype(bool)
    for name in base.names or ():
        if base.fields[name][0].kind == 'b':
            arr[name] = rng.integers(0, 2, size=arr.shape).astype(bool)
    return arr


color = h5py.enum_dtype({'RED': 0, 'GREEN': 1, 'BLUE': 42}, basetype='>i2')
small = h5py.enum_dtype({'A': 0, 'B': 200}, basetype='u1')
complex_be = np.dtype('>c16')
inner = np.dtype([('p', '>u2'), ('q', '<f4')])
mixed = np.dtype({
    'names': ['id', 'flag', 'name', 'color', 'pos', 'inner', 'z', "it's", 'caf\u00e9'],
    'formats': ['>i8', '?', 'S5', color, ('>f4', (2, 3)), inner, '<c8', '<i2', 'u1'],
    'offsets': [0, 9, 12, 18, 24, 52, 64, 74, 77],
    'itemsize': 80})

simple = {
    'i1': 'i1', 'u1': 'u1', 'i2be': '>i2', 'u2le': '<u2', 'i4be': '>i4', 'u4be': '>u4',
    'i8le': '<i8', 'u8be': '>u8', 'f2le': '<f2', 'f2be': '>f2', 'f4be': '>f4', 'f8be': '>f8',
    'f8le': '<f8', 'f16le': '<f16', 'f16be': '>f16', 'bool': '?', 'color': color, 'small': small,
    'c8le': '<c8', 'c8be': '>c8', 'c16be': complex_be, 'c32le': '<c32',
    'S7': 'S7', 'S3utf8': h5py.string_dtype('utf-8', 3),
    'datetime': h5py.opaque_dtype(np.dtype('<M8[ns]')),
    'array': np.dtype(('>i4', (2, 3))), 'array_of_compound': np.dtype((inner, (3,))),
    'mixed': mixed,
}

with h5py.File(sys.argv[1], 'w') as f:
    d = f.create_group('d')
    for name, dtype in simple.items():
        data = values(dtype)
        ds = d.create_dataset(name, (5,), dtype=dtype)
        ds.id.write(h5py.h5s.ALL, h5py.h5s.ALL, data, mtype=h5py.h5t.py_create(dtype))
    d.create_dataset('scalar', data=np.float32(1.5).astype('>f4'))
    d.create_dataset('matrix', data=values('>i2', (3, 4)))
    d.create_dataset('vstr', data=['', 'h\u00e9llo', 'a,b'], dtype=h5py.string_dtype())
    d.create_dataset('vbytes', data=[b'x', b'', b'yz'], dtype=h5py.string_dtype('ascii'))

    a = f.create_group('a')
    for target in (f, a, d['i4be']):
        target.attrs['str'] = 'h\u00e9llo'
        target.attrs['bytes'] = np.bytes_(b'abc')
        target.attrs['int'] = np.int32(-7)
        target.attrs['u64'] = np.uint64(2**64 - 1)
        target.attrs['i8be'] = np.array(-2**63, dtype='>i8')
        target.attrs['f4'] = np.float32(0.1)
        target.attrs['f4third'] = np.float32(1) / np.float32(3)
        target.attrs['f2'] = np.float16(0.1)
        target.attrs['f8'] = 0.1
        target.attrs['f8big'] = 1e300
        target.attrs['f8tiny'] = 5e-324
        target.attrs['f16'] = np.longdouble(1) / np.longdouble(3)
        target.attrs['inf'] = -np.inf
        target.attrs['nan'] = np.nan
        target.attrs['true'] = True
        target.attrs['bools'] = np.array([True, False, True])
        target.attrs['color'] = np.array(42, dtype=color)
        target.attrs['complex'] = np.complex64(1.5 - 2j)
        target.attrs['complex_be'] = np.array([1 + 1j, -0.5j], dtype='>c16')
        target.attrs['ints'] = np.arange(6, dtype='>i4').reshape(2, 3)
        target.attrs['floats'] = np.array([0.5, -1e-7, 3e38], dtype='<f4')
        target.attrs['halves'] = values('<f2', (8,))
        target.attrs['doubles'] = values('>f8', (8,))
        target.attrs['strings'] = ['a', '', 'c\u00e9']
        target.attrs['fixed'] = np.array([b'ab', b'c'], dtype='S3')
        target.attrs['empty'] = h5py.Empty('f4')
        target.attrs['none'] = np.zeros((0,), dtype='i4')
        target.attrs['compound'] = values(inner, (2,))
        target.attrs['mixed'] = values(mixed, (1,))[0]
        target.attrs['opaque'] = np.void(b'\x01\x02\x03')
        target.attrs['array_type'] = values(np.dtype(('<u2', (3,))), ())
