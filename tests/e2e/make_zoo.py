#!/usr/bin/python3
"""Write the e2e test zoo: one HDF5 file holding every kind of object that
h5swmrfs must show (SPEC.md sections 2-4).

Usage: make_zoo.py OUT.h5 [--big]

Next to OUT.h5 it also writes the targets of the zoo's external link
(ext.h5) and external dataset (external.bin); both are referenced by
relative names, so keep the three files together.

--big adds /big, a 256 MiB contiguous <i4 dataset (8192 x 8192) whose
element (i, j) is i * 8192 + j; it is written in pieces, so memory stays
small.

The tests do not hard-code expectations about this file: they read it back
with h5py, so any object may be added here and is checked automatically.
"""

import argparse
import os
import sys

import h5py
import numpy as np
from h5py import h5d, h5p, h5s, h5t

BIG_SHAPE = (8192, 8192)
BIG_ROWS_PER_PIECE = 512  # 16 MiB per write

SEED = 20240611


def int_values(dtype, count, rng):
    """Extremes first, then random values of the whole range."""
    info = np.iinfo(dtype)
    extremes = [info.min, info.max, 0, 1, info.max // 3]
    rest = rng.integers(info.min, info.max, size=count - len(extremes),
                        dtype=np.dtype(dtype).newbyteorder('='),
                        endpoint=True)
    return np.concatenate([np.array(extremes, dtype=dtype),
                           rest.astype(dtype)])


def float_values(dtype, count, rng):
    specials = [0.0, -0.0, 1.5, -2.25, np.inf, -np.inf, np.nan,
                np.finfo(dtype).max, np.finfo(dtype).tiny]
    rest = rng.standard_normal(count - len(specials)) * 1000
    return np.concatenate([np.array(specials, dtype=dtype),
                           rest.astype(dtype)])


def add_types(group, rng):
    """One 1-D dataset of 11 elements per element type, both byte orders."""
    n = 11
    for code in ['i1', 'u1', 'i2', 'u2', 'i4', 'u4', 'i8', 'u8']:
        for order, suffix in [('<', ''), ('>', '_be')]:
            if code.endswith('1') and order == '>':
                continue
            dt = np.dtype(order + code)
            group.create_dataset(code + suffix, data=int_values(dt, n, rng))
    for code in ['f2', 'f4', 'f8']:
        for order, suffix in [('<', ''), ('>', '_be')]:
            dt = np.dtype(order + code)
            group.create_dataset(code + suffix, data=float_values(dt, n, rng))
    # long double: h5py maps it to the platform's np.longdouble (x87 80-bit
    # in 16 bytes on x86-64); the tests compare only its significant bytes.
    if np.dtype(np.longdouble).itemsize > 8:
        values = np.array([0, 1, -1, 1 / 3, 1e300, -1e-300, 12345.678],
                          dtype=np.longdouble)
        values[3] = np.longdouble(1) / np.longdouble(3)
        group.create_dataset('f16', data=values)

    group.create_dataset('bool', data=np.array(
        [True, False, True, True, False, False, True]))

    colors = h5py.enum_dtype({'RED': 0, 'GREEN': 1, 'BLUE': 42},
                             basetype='u1')
    group.create_dataset('enum_u1', data=np.array([0, 1, 42, 1, 0],
                                                  dtype=colors))
    levels = h5py.enum_dtype({'LOW': -300, 'MID': 0, 'HIGH': 300},
                             basetype='>i2')
    group.create_dataset('enum_i2_be', data=np.array([-300, 300, 0, 300],
                                                     dtype=levels))

    group.create_dataset('fixed_S10', data=np.array(
        [b'alpha', b'', b'0123456789', b'with space', b'\xc3\xa9t\xc3\xa9'],
        dtype='S10'))
    group.create_dataset('opaque_V8', data=np.array(
        [b'abcdefgh', b'\x00\x01\x02\x03\x04\x05\x06\x07', b'12345678'],
        dtype='V8'))

    # bitfield: h5py has no way to make one, so use the low-level API.
    space = h5s.create_simple((5,))
    dset = h5d.create(group.id, b'bitfield_be', h5t.STD_B16BE, space)
    dset.write(h5s.ALL, h5s.ALL,
               np.array([1, 2, 0x8001, 0xffff, 0x1234], dtype='>u2'),
               mtype=h5t.STD_B16BE)

    # compound with padding: explicit offsets and itemsize, mixed orders.
    padded = np.dtype({'names': ['id', 'value', 'flag'],
                       'formats': ['<i2', '>f8', 'u1'],
                       'offsets': [0, 8, 17],
                       'itemsize': 24})
    data = np.zeros(6, dtype=padded)
    data['id'] = np.arange(6) * -7
    data['value'] = np.linspace(-1, 1, 6)
    data['flag'] = [1, 0, 255, 3, 4, 5]
    group.create_dataset('compound_padded', data=data)

    # compound with a nested compound and an array member.
    inner = np.dtype([('x', '<f4'), ('y', '>u2')])
    nested = np.dtype([('n', '<i4'), ('pos', inner), ('hist', '<f8', (3,)),
                       ('tag', 'S3')])
    data = np.zeros(4, dtype=nested)
    data['n'] = [1, -2, 3, -4]
    data['pos']['x'] = [0.5, 1.5, -2.5, 3.25]
    data['pos']['y'] = [1, 65535, 256, 7]
    data['hist'] = np.arange(12).reshape(4, 3) / 4
    data['tag'] = [b'abc', b'de', b'', b'xyz']
    group.create_dataset('compound_nested', data=data)

    # compound stored big-endian.
    be = np.dtype([('a', '>i4'), ('b', '>f4'), ('c', '>i8')])
    data = np.array([(1, 2.5, -3), (-100000, 1e10, 2**40)], dtype=be)
    group.create_dataset('compound_be', data=data)

    # HDF5 array types (h5py keeps them only when given as the dataset's
    # dtype, not through data=).
    dset = group.create_dataset('array_i4_3', shape=(5,),
                                dtype=np.dtype(('<i4', (3,))))
    dset[...] = np.arange(15).reshape(5, 3) - 7
    dset = group.create_dataset('array_f8_2x3_be', shape=(4,),
                                dtype=np.dtype(('>f8', (2, 3))))
    dset[...] = np.arange(24).reshape(4, 2, 3) / 8


def add_shapes(group, rng):
    group.create_dataset('scalar', data=np.float64(3.5))
    group.create_dataset('scalar_i2', data=np.int16(-12))
    group.create_dataset('empty_0', shape=(0,), dtype='<f4')
    group.create_dataset('empty_0x5', shape=(0, 5), dtype='<i2')
    group.create_dataset('empty_chunked', shape=(0, 3), maxshape=(None, 3),
                         dtype='<f8', chunks=(4, 3))
    group.create_dataset('d1', data=np.arange(7, dtype='<i4') * 3)
    group.create_dataset('d2', data=np.arange(35, dtype='<f8').reshape(5, 7)
                         / 7)
    group.create_dataset('d3', data=rng.integers(-1000, 1000, (3, 5, 7))
                         .astype('>i2'))
    group.create_dataset('d4', data=rng.standard_normal((2, 3, 5, 7))
                         .astype('<f4'))
    group.create_dataset('d2_1x1', data=np.array([[9]], dtype='<u8'))


def add_storage(group, rng, zoo_dir):
    data = rng.standard_normal((123, 45))
    group.create_dataset('chunked', data=data, chunks=(8, 5))
    group.create_dataset('deflate_shuffle_fletcher', data=data,
                         chunks=(10, 7), compression='gzip',
                         compression_opts=4, shuffle=True, fletcher32=True)
    group.create_dataset('deflate9', data=np.arange(1000, dtype='<i8') % 17,
                         chunks=(64,), compression='gzip',
                         compression_opts=9)
    group.create_dataset('shuffle_only', data=np.arange(200, dtype='>i4'),
                         chunks=(50,), shuffle=True)
    group.create_dataset('resizable', data=np.arange(21, dtype='<i2')
                         .reshape(3, 7), maxshape=(None, 7), chunks=(2, 7))
    group.create_dataset('unlimited_2d', data=np.ones((4, 6), dtype='<f4'),
                         maxshape=(None, None), chunks=(3, 3))
    # Chunks never written: reads give the fill value.
    group.create_dataset('unwritten_fill', shape=(10, 10), dtype='<i4',
                         chunks=(4, 4), fillvalue=42)
    group.create_dataset('unwritten_contiguous', shape=(33,), dtype='<u2')

    # compact layout through the low-level API (no h5py keyword for it).
    dcpl = h5p.create(h5p.DATASET_CREATE)
    dcpl.set_layout(h5d.COMPACT)
    space = h5s.create_simple((4, 6))
    dset = h5d.create(group.id, b'compact', h5t.STD_I32BE, space, dcpl=dcpl)
    dset.write(h5s.ALL, h5s.ALL,
               (np.arange(24, dtype='>i4').reshape(4, 6) - 10))

    # external raw storage next to the zoo.
    raw = np.arange(30, dtype='<f4') / 3
    with open(os.path.join(zoo_dir, 'external.bin'), 'wb') as out:
        out.write(b'HEADER--')  # data starts at offset 8
        out.write(raw.tobytes())
    group.create_dataset('external', shape=(5, 6), dtype='<f4',
                         external=[('external.bin', 8, raw.nbytes)])

    # virtual dataset from two sources in the same file.
    first = group.create_dataset('vds_source_a', data=np.arange(5,
                                                                dtype='<i4'))
    second = group.create_dataset('vds_source_b',
                                  data=np.arange(100, 103, dtype='<i4'))
    layout = h5py.VirtualLayout(shape=(2, 5), dtype='<i4')
    layout[0] = h5py.VirtualSource(first)
    layout[1, :3] = h5py.VirtualSource(second)
    group.create_virtual_dataset('virtual', layout, fillvalue=-1)


def add_strings(group):
    utf8 = h5py.string_dtype('utf-8')
    group.create_dataset('vlen_1d', data=['first', '', 'ünïcødé ✓',
                                          'with space', 'last'],
                         dtype=utf8)
    group.create_dataset('vlen_scalar', data='a scalar string, é',
                         dtype=utf8)
    group.create_dataset('vlen_ascii', data=[b'one', b'two', b'three'],
                         dtype=h5py.string_dtype('ascii'))
    group.create_dataset('vlen_empty', shape=(0,), dtype=utf8)


def add_attributes(obj):
    """Attributes of every kind that SPEC.md section 4 distinguishes."""
    attrs = obj.attrs
    attrs['str'] = 'héllo wörld'
    attrs['str_empty'] = ''
    attrs['bytes_vlen'] = b'raw ascii bytes'
    attrs['bytes_fixed'] = np.bytes_(b'fixed')
    attrs['int'] = 42
    attrs['int_negative'] = np.int32(-7)
    attrs['int_big'] = np.int64(2**40 + 3)
    attrs['uint64_max'] = np.uint64(2**64 - 1)
    attrs['int_be'] = np.array(-123456, dtype='>i4')
    attrs['float32'] = np.float32(0.1)
    attrs['float64'] = 1 / 3
    attrs['float64_huge'] = 1e300
    attrs['float64_inf'] = -np.inf
    attrs['array_int'] = np.arange(5, dtype='<i4') - 2
    attrs['array_float64'] = np.array([0.5, 1 / 3, -2.25e-10])
    attrs['array_float32'] = np.array([0.1, 2.5, -3], dtype='<f4')
    attrs['array_2d'] = np.arange(6, dtype='<i2').reshape(2, 3)
    attrs['bool'] = True
    attrs['compound'] = np.array((7, 2.5), dtype=[('x', '<i2'), ('y', '>f4')])
    attrs['opaque'] = np.void(b'\x01\x02\x00\xff')
    attrs['name with space'] = 'spaced'
    attrs['ünïcode ✓'] = np.int16(5)


def add_links(f):
    links = f.create_group('links')
    sub = links.create_group('sub')
    sub.create_dataset('data', data=np.arange(10, dtype='<u4'))
    links['soft_abs'] = h5py.SoftLink('/shapes/d2')
    links['soft_abs_group'] = h5py.SoftLink('/storage')
    links['soft_rel'] = h5py.SoftLink('sub/data')
    sub['soft_abs_up'] = h5py.SoftLink('/types/i4')
    links['dangling'] = h5py.SoftLink('/does/not/exist')
    links['hard'] = f['shapes/d1']
    links['hard_group'] = f['strings']
    links['external'] = h5py.ExternalLink('ext.h5', '/ext_data')


def write_external_file(path):
    with h5py.File(path, 'w') as ext:
        ext.create_dataset('ext_data', data=np.arange(6, dtype='<i4'))


def add_big(f):
    dset = f.create_dataset('big', shape=BIG_SHAPE, dtype='<i4')
    cols = BIG_SHAPE[1]
    for start in range(0, BIG_SHAPE[0], BIG_ROWS_PER_PIECE):
        stop = min(start + BIG_ROWS_PER_PIECE, BIG_SHAPE[0])
        piece = np.arange(start * cols, stop * cols, dtype='<i4')
        dset[start:stop] = piece.reshape(stop - start, cols)


def make_zoo(out, big=False):
    zoo_dir = os.path.dirname(os.path.abspath(out))
    rng = np.random.default_rng(SEED)
    write_external_file(os.path.join(zoo_dir, 'ext.h5'))
    with h5py.File(out, 'w', track_order=True) as f:
        add_types(f.create_group('types'), rng)
        add_shapes(f.create_group('shapes'), rng)
        add_storage(f.create_group('storage'), rng, zoo_dir)
        add_strings(f.create_group('strings'))
        add_links(f)

        f['named_type'] = np.dtype('<f8')
        f.create_dataset('uses_named_type', data=np.array([1.0, 2.0]),
                         dtype=f['named_type'])

        spaced = f.create_group('with space')
        spaced.create_dataset('données température',
                              data=np.array([21.5, 22.0, -3.25]))
        spaced.create_group('sous groupe ✓').create_dataset(
            'x y', data=np.arange(3, dtype='<i8'))

        add_attributes(f)
        add_attributes(f['types'])
        add_attributes(f['shapes/d2'])
        add_attributes(f['with space/données température'])
        f['strings/vlen_1d'].attrs['units'] = 'm/s'

        if big:
            add_big(f)


def main():
    parser = argparse.ArgumentParser(description=__doc__.split('\n')[0])
    parser.add_argument('out')
    parser.add_argument('--big', action='store_true',
                        help='add the 256 MiB dataset /big')
    args = parser.parse_args()
    make_zoo(args.out, big=args.big)
    return 0


if __name__ == '__main__':
    sys.exit(main())
