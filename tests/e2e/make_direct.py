#!/usr/bin/python3
"""The datasets of test_direct_read.py: every combination the direct read path
takes (types x byte orders x contiguous/chunked x filter chains x chunk shapes
with edge chunks x unallocated chunks with fill values x ranks 1-4, short rows in
narrow chunks), datasets it leaves to HDF5, and a file with damaged chunks.

  make_direct.py matrix OUT.h5   prints one line per dataset: NAME TAB direct|hdf5
  make_direct.py damaged OUT.h5  prints NAME TAB OFFSET TAB LENGTH of the bytes of
                                 each damaged chunk's elements
"""

import sys

import h5py
import numpy as np
from h5py import h5d, h5p, h5s, h5t  # noqa: F401 (h5py.h5z below)
import h5py.h5z  # noqa: E402,F401

SHAPES = {1: ((1000,), (64,)), 2: ((37, 29), (8, 7)), 3: ((11, 9, 13), (4, 3, 5)),
          4: ((5, 6, 7, 8), (2, 4, 3, 5))}
CHAINS = {'none': {}, 'deflate': {'compression': 'gzip'},
          'shuffle-deflate': {'compression': 'gzip', 'shuffle': True},
          'fletcher32': {'fletcher32': True},
          'shuffle-deflate-fletcher32': {'compression': 'gzip', 'shuffle': True, 'fletcher32': True}}
FILL_TIMES = [None, h5d.FILL_TIME_ALLOC, h5d.FILL_TIME_NEVER]


def numpy_types(order):
    """(label, dtype, fill value or None) in byte order `order`."""
    o = order
    out = [(k + o, np.dtype(o + k), fill) for k, fill in
           (('i1', -7), ('u1', 200), ('i2', -300), ('u2', 60000), ('i4', -70000), ('u4', 4000000000),
            ('i8', -2**40), ('u8', 2**63 + 5), ('f2', 1.5), ('f4', -2.25), ('f8', 1e300))]
    out.append(('enum' + o, h5py.enum_dtype({'a': 0, 'b': 1, 'c': 300}, basetype=o + 'i2'), None))
    out.append(('array' + o, np.dtype((o + 'i4', (2, 3))), None))
    out.append(('compound' + o, np.dtype([('a', o + 'i2'), ('b', o + 'f8'), ('c', 'S3'), ('d', o + 'u4')]), None))
    # Padding between members: stored bytes as they are in this host's order; a swapped
    # one is converted by HDF5, which leaves the gaps to chance, so HDF5 keeps it.
    out.append(('padded' + o, np.dtype({'names': ['a', 'b'], 'formats': [o + 'i2', o + 'f4'],
                                        'offsets': [0, 4], 'itemsize': 12}), None))
    out.append(('complex' + o, np.dtype(o + 'c8'), None))
    if o == '<':
        out += [('opaque', np.dtype('V7'), None), ('string', np.dtype('S5'), None), ('bool', np.dtype('?'), None)]
    return out


def values(dtype, shape, seed):
    rng = np.random.default_rng(seed)
    n = int(np.prod(shape))
    if h5py.check_enum_dtype(dtype):
        return rng.choice(np.array([0, 1, 300], dtype=dtype), n).reshape(shape)
    if dtype.kind == 'b':
        return (rng.integers(0, 2, n) == 1).reshape(shape)
    if dtype.kind == 'c':
        return (rng.standard_normal(n) + 1j * rng.standard_normal(n)).astype(dtype).reshape(shape)
    if dtype.kind == 'f':
        return (rng.standard_normal(n) * 1000).astype(dtype).reshape(shape)
    if dtype.names:
        data = np.zeros(n, dtype)
        for field in dtype.names:
            data[field] = values(dtype.fields[field][0], (n,), seed + 1)
        return data.reshape(shape)
    if dtype.subdtype is not None:
        base, sub = dtype.subdtype
        return values(base, tuple(shape) + sub, seed)
    # Integers, strings, opaque: any bytes.
    raw = rng.integers(0, 256, n * dtype.itemsize, dtype=np.uint8)
    return raw.view(dtype).reshape(shape)


def create(f, name, dtype, shape, fill=None, fill_time=None, **kwds):
    dcpl = h5p.create(h5p.DATASET_CREATE)
    if fill_time is not None:
        dcpl.set_fill_time(fill_time)
    return f.create_dataset(name, shape=shape, dtype=dtype, fillvalue=fill, dcpl=dcpl, **kwds)


def matrix(path):
    listing = []
    seed = 0
    with h5py.File(path, 'w') as f:
        for order in '<>':
            for label, dtype, fill in numpy_types(order):
                direct = not label.startswith('padded') or order == '<'
                for layout in ['contiguous'] + list(CHAINS):
                    seed += 1
                    rank = 1 + seed % 4
                    shape, chunks = SHAPES[rank]
                    name = '%s_%s_r%d' % (label.replace('<', 'le').replace('>', 'be'), layout, rank)
                    data = values(dtype, shape, seed)
                    if layout == 'contiguous':
                        ds = create(f, name, dtype, shape, fill)
                        ds[...] = data
                    else:
                        fill_time = FILL_TIMES[seed % 3]
                        ds = create(f, name, dtype, shape, fill, fill_time, chunks=chunks, **CHAINS[layout])
                        # The first part along axis 0 only: the chunks past it stay unallocated.
                        part = max(1, shape[0] * 2 // 5)
                        ds[:part] = data[:part]
                    listing.append((name, direct))
                # Never written: read as the fill value.
                name = '%s_unwritten' % label.replace('<', 'le').replace('>', 'be')
                create(f, name, dtype, (300,), fill)
                listing.append((name, direct))
        bitfields(f, listing)
        narrow(f, listing)
        not_direct(f, listing)
    for name, direct in listing:
        print('%s\t%s' % (name, 'direct' if direct else 'hdf5'))


def bitfields(f, listing):
    for label, tid in (('bitfield16le', h5t.STD_B16LE), ('bitfield16be', h5t.STD_B16BE),
                       ('bitfield32be', h5t.STD_B32BE), ('bitfield64le', h5t.STD_B64LE)):
        size = tid.get_size()
        raw = np.random.default_rng(size).integers(0, 256, 700 * size, dtype=np.uint8)
        for layout, chunked in (('contiguous', False), ('shuffle-deflate', True)):
            dcpl = h5p.create(h5p.DATASET_CREATE)
            if chunked:
                dcpl.set_chunk((64,))
                dcpl.set_shuffle()
                dcpl.set_deflate(4)
            name = '%s_%s' % (label, layout)
            ds = h5d.create(f.id, name.encode(), tid, h5s.create_simple((700,)), dcpl=dcpl)
            ds.write(h5s.ALL, h5s.ALL, raw, mtype=tid)
            listing.append((name, True))


def narrow(f, listing):
    """Short rows in narrow chunks: a read crosses thousands of rows of chunks (answered
    from one buffer they are copied into, not from the chunks where they lie)."""
    for name, dtype, shape, chunks, chain in (('narrow_u1_r2', 'u1', (600, 40), (100, 3), 'none'),
                                              ('narrow_f4be_r3', '>f4', (30, 40, 17), (7, 5, 2), 'shuffle-deflate')):
        ds = create(f, name, np.dtype(dtype), shape, None, None, chunks=chunks, **CHAINS[chain])
        ds[...] = values(np.dtype(dtype), shape, len(listing))
        listing.append((name, True))


def not_direct(f, listing):
    data = np.arange(2000, dtype='<i4')
    f.create_dataset('old_scaleoffset', data=data, chunks=(100,), scaleoffset=0)
    listing.append(('old_scaleoffset', False))
    dcpl = h5p.create(h5p.DATASET_CREATE)
    dcpl.set_chunk((100,))
    dcpl.set_filter(h5py.h5z.FILTER_NBIT, 0, ())
    ds = h5d.create(f.id, b'old_nbit', h5t.STD_I32LE, h5s.create_simple((2000,)), dcpl=dcpl)
    ds.write(h5s.ALL, h5s.ALL, data)
    listing.append(('old_nbit', False))
    dcpl = h5p.create(h5p.DATASET_CREATE)
    dcpl.set_layout(h5d.COMPACT)
    ds = h5d.create(f.id, b'old_compact', h5t.STD_I16BE, h5s.create_simple((300,)), dcpl=dcpl)
    ds.write(h5s.ALL, h5s.ALL, np.arange(300, dtype='<i2'))
    listing.append(('old_compact', False))
    external = f.filename + '.raw'
    f.create_dataset('old_external', data=data, external=[(external, 0, h5f_unlimited())])
    listing.append(('old_external', False))
    # A NUL-terminated string: HDF5 converts it (cut at the first NUL, NUL-padded).
    tid = h5t.C_S1.copy()
    tid.set_size(6)
    tid.set_strpad(h5t.STR_NULLTERM)
    ds = h5d.create(f.id, b'old_nullterm', tid, h5s.create_simple((4,)))
    ds.write(h5s.ALL, h5s.ALL, np.array([b'ab\0cd', b'abcdef', b'', b'x y'], 'S6'), mtype=tid)
    listing.append(('old_nullterm', False))


def h5f_unlimited():
    return h5py.h5f.UNLIMITED


def damaged(path):
    """A checksummed dataset and a plainly deflated one, each with one chunk damaged
    on disk, and an intact one beside them."""
    data = np.arange(4000, dtype='<i4')
    with h5py.File(path, 'w') as f:
        f.create_dataset('checked', data=data, chunks=(500,), compression='gzip', fletcher32=True)
        f.create_dataset('deflated', data=data, chunks=(500,), compression='gzip', shuffle=True)
        f.create_dataset('intact', data=data, chunks=(500,), compression='gzip')
        places = {}
        for name in ('checked', 'deflated'):
            info = f[name].id.get_chunk_info(3)
            places[name] = (info.byte_offset, info.size, info.chunk_offset[0])
    with open(path, 'r+b') as raw:
        for name, (address, size, first) in places.items():
            raw.seek(address + size // 2)
            middle = raw.read(4)
            raw.seek(address + size // 2)
            raw.write(bytes(b ^ 0x5a for b in middle))
            print('%s\t%d\t%d' % (name, first * 4, 500 * 4))


if __name__ == '__main__':
    {'matrix': matrix, 'damaged': damaged}[sys.argv[1]](sys.argv[2])
