"""Attributes written by h5py, and what h5py reads of them.
Run with /usr/bin/python3:
  attributes.py make FILE             /d holds numeric and other attributes for set_attribute;
                                      /zoo (creation order tracked) one attribute of every kind
  attributes.py dump FILE PATH        NAME_HEX<TAB>TYPE<TAB>SHAPE<TAB>VALUE per attribute of PATH,
                                      TYPE 'vlen-utf8', 'vlen-ascii' or dtype.str / str(descr);
                                      VALUE 'str:HEX', 'bytes:HEX' (bytes, opaque), 'empty' or the numbers' str()
  attributes.py compare FA PA FB PB [SKIP...]
                                      NAME<TAB>ok or what differs, for each attribute of FA:PA
                                      against FB:PB (same names in the same order, same HDF5
                                      types and dataspaces, same values)"""
import sys

import h5py
import numpy as np


def make(path):
    color = h5py.enum_dtype({'RED': 0, 'GREEN': 1, 'BLUE': 42}, basetype='u1')
    color_be = h5py.enum_dtype({'RED': 0, 'GREEN': 1, 'BLUE': 42}, basetype='>i2')
    with h5py.File(path, 'w') as f:
        f.create_group('g')
        d = f.create_dataset('d', data=np.arange(4))
        a = d.attrs
        a['i32'] = np.int32(7)
        a['i16_2x3'] = np.arange(6, dtype='<i2').reshape(2, 3)
        a['u64'] = np.uint64(2**64 - 1)
        a['i8'] = np.int8(-5)
        a['f32'] = np.float32(1.5)
        a['f16'] = np.float16(0.5)
        a['f64_2'] = np.array([1.0, 2.0])
        a['f128'] = np.longdouble(1) / 3
        a['be_i4'] = np.array([1, 2], '>i4')
        a['be_f8'] = np.array(2.5, '>f8')
        a['flag'] = np.bool_(True)
        a['flags'] = np.array([True, False])
        a.create('color', 1, dtype=color)
        a.create('color_be', [0, 42], dtype=color_be)
        a['empty'] = h5py.Empty('<f4')
        a['cplx'] = np.complex128(1 + 2j)
        a['fixed'] = np.bytes_(b'abc')
        a['vlen'] = 'text'
        a['comp'] = np.array((1, 2.0), dtype=[('a', '<i4'), ('b', '<f8')])

        f['named_t'] = np.dtype('<i4')
        zoo = f.create_group('zoo', track_order=True)
        z = zoo.attrs
        z['int'] = np.int64(-3)
        z['floats'] = np.arange(6, dtype='>f4').reshape(2, 3) / 7
        z['nan'] = np.array([np.nan, np.inf])
        z['long'] = np.longdouble(2) / 3
        z['bool'] = np.array([True, False, True])
        z.create('enum', [0, 42, 1], dtype=color_be)
        z['complex'] = np.array([1 + 2j, -1j], '<c8')
        z['fixed'] = np.array([b'ab', b'cde'], 'S5')
        z.create('fixed_utf8', np.array(['\u00e9t\u00e9'.encode()], 'S10'), dtype=h5py.string_dtype('utf-8', 10))
        z['vlen'] = 'caf\u00e9 \u2603'
        z.create('vlen_array', ['a', 'b\u00e9', '', 'long ' * 20], dtype=h5py.string_dtype())
        z.create('vlen_bytes', [b'x\xff', b''], dtype=h5py.string_dtype('ascii'))
        z.create('vlen_2d', [['p', 'q'], ['r', 's']], dtype=h5py.string_dtype())
        record = np.dtype([('id', '<i4'), ('name', h5py.string_dtype()), ('pos', '<f8', (2,))])
        z.create('records', np.array([(1, 'one', (1, 2)), (2, 'two\u00e9', (3, 4))], dtype=record))
        ragged = np.empty(3, dtype=object)
        ragged[:] = [np.array([1, 2, 3], 'i4'), np.array([], 'i4'), np.array([7], 'i4')]
        z.create('ragged', ragged, dtype=h5py.vlen_dtype(np.dtype('i4')))
        z.create('array_type', np.arange(6, dtype='<i2').reshape(2, 3), dtype=np.dtype(('<i2', (3,))))
        z['null'] = h5py.Empty('<i8')
        z['zero_length'] = np.zeros((0,), '<i4')
        z['scalar_str_fixed'] = np.bytes_(b'fixed')
        z['opaque'] = np.void(b'\x01\x02\x03\x04\x05\x06\x07\x08')
        z.create('datetime', np.array(['2024-01-01T00:00'], 'M8[ns]').view('<i8'),
                 dtype=h5py.opaque_dtype(np.dtype('<M8[ns]')))
        z['ref'] = f['g'].ref
        z.create('committed', 5, dtype=f['named_t'])
        z['na\u00efve name'] = 1
        z['odd\nname.with/slash'] = 2


def type_name(attr):
    dtype = attr.dtype
    info = h5py.check_string_dtype(dtype)
    if info is not None and info.length is None:
        return 'vlen-' + ('utf8' if info.encoding == 'utf-8' else 'ascii')
    return str(dtype.descr) if dtype.names else dtype.str


def text(value):
    if isinstance(value, str):
        return 'str:' + value.encode('utf-8', 'surrogateescape').hex()
    if isinstance(value, bytes):
        return 'bytes:' + value.hex()
    if isinstance(value, np.void) and value.dtype.names is None:
        return 'bytes:' + value.tobytes().hex()
    if isinstance(value, h5py.Empty):
        return 'empty'
    return ','.join(str(x) for x in np.ravel(value))


def dump(path, obj_path):
    with h5py.File(path, 'r') as f:
        obj = f[obj_path]
        for name in obj.attrs:
            attr = obj.attrs.get_id(name)
            try:
                value = text(obj.attrs[name])
            except Exception as e:  # noqa: BLE001 - what h5py cannot read is itself the answer
                value = 'unreadable: ' + type(e).__name__
            print(f'{name.encode().hex()}\t{type_name(attr)}\t{attr.shape}\t{value}')


def normal(f, v):
    """A comparable form of an attribute value: bytes of numbers, lists of objects, names of refs."""
    if isinstance(v, h5py.Reference):
        return ('ref', f[v].name if v else None)
    if isinstance(v, np.ndarray):
        if v.dtype.names or v.dtype.kind == 'O':
            return ('array', v.dtype.str, v.shape, [normal(f, x) for x in v.ravel()])
        return ('array', v.dtype.str, v.shape, v.tobytes())
    if isinstance(v, np.void) and v.dtype.names:
        return ('record', tuple(normal(f, v[n]) for n in v.dtype.names))
    if isinstance(v, np.generic):
        return ('scalar', v.dtype.str, v.tobytes())
    if isinstance(v, h5py.Empty):
        return ('empty', v.dtype.str)
    return ('python', repr(v))


def compare(path_a, obj_a, path_b, obj_b, skip):
    with h5py.File(path_a, 'r') as fa, h5py.File(path_b, 'r') as fb:
        a, b = fa[obj_a], fb[obj_b]
        names_a = [n for n in a.attrs if n not in skip]
        names_b = [n for n in b.attrs if n not in skip]
        if sorted(names_a) != sorted(names_b):
            print(f'names\t{names_a!r} != {names_b!r}')
        for name in names_a:
            if name not in names_b:
                continue
            ia, ib = a.attrs.get_id(name), b.attrs.get_id(name)
            problems = []
            if ia.get_type() != ib.get_type():
                problems.append(f'types {ia.dtype!r} and {ib.dtype!r}')
            sa, sb = ia.get_space(), ib.get_space()
            if sa.get_simple_extent_type() != sb.get_simple_extent_type() or ia.shape != ib.shape:
                problems.append(f'dataspaces {ia.shape} and {ib.shape}')
            va, vb = normal(fa, a.attrs[name]), normal(fb, b.attrs[name])
            if va != vb:
                problems.append(f'values {va!r} and {vb!r}')
            print(f'{name.encode().hex()}\t' + ('; '.join(problems) or 'ok'))


if sys.argv[1] == 'make':
    make(sys.argv[2])
elif sys.argv[1] == 'dump':
    dump(sys.argv[2], sys.argv[3])
else:
    compare(sys.argv[2], sys.argv[3], sys.argv[4], sys.argv[5], set(sys.argv[6:]))
