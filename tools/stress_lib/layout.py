"""The file the stress run works on, shared by the tool (which makes it),
the workers (which start from it) and the checker.

    /probe                 constant, read by the probes
    /w{i}                  writer i's group (attribute user.stamp)
    /w{i}/fix              fixed (n_fix, 4) <u8: replaced with cp, patched with dd
    /w{i}/app              (n, 4) <u8, resizable along axis 0: >>, cp, truncate
    /w{i}/t/g{s}[/d]       slots: groups and datasets made and deleted
    /h{i}                  h5py writer i's group (attribute stamp)
    /h{i}/data             fixed (n_h5py, 4) <u8 written by h5py under
                           `h5swmrfs-ctl run --exclusive`
    /x                     the crossing workers' group (when big_bytes > 0)
    /x/c                   contiguous (big_bytes,) |u1, one byte value
                           repeated; replaced with cp through one mount,
                           read through another
    /x/a                   (n, 64) |u1, resizable: a row appended at a time
                           through the mount that reads /x/c

Every dataset but /x/c holds records (records.py); /x/c holds uniform
content (records.fill_of). A writer owns its group alone, so the order of
its writes is the order of its commits.
"""

import numpy as np

from . import records

PROBE = '/probe'
PROBE_RECORDS = 64
STAMP = 'user.stamp'   # the xattr name; the HDF5 attribute is 'stamp'


def fix_path(w):
    return '/w%d/fix' % w


def app_path(w):
    return '/w%d/app' % w


def group_path(w):
    return '/w%d' % w


def slot_group(w, s):
    return '/w%d/t/g%d' % (w, s)


def slot_dataset(w, s):
    return '/w%d/t/g%d/d' % (w, s)


def h5py_group(i):
    return '/h%d' % i


def h5py_data(i):
    return '/h%d/data' % i


CROSS = '/x'
BIG = '/x/c'
SIDE = '/x/a'
SIDE_ROW = 64                      # bytes of a row of /x/a: two records


def crossing(config):
    """{path: state} of the crossing workers' datasets at the start (empty
    when the run has none)."""
    if not config.get('big_bytes'):
        return {}
    return {BIG: dict(key=records.key_of(BIG), runs=[],
                      len=config['big_bytes'], fill=records.fill_of(0)),
            SIDE: dict(key=records.key_of(SIDE), runs=[], len=0)}


def stamp(obj_key, version):
    """The text of a user.stamp value: object key, version, check."""
    check = int(records.check_of(obj_key, [version], [0])[0]) & 0xffffffff
    return '%x:%d:%08x' % (obj_key, version, check)


def parse_stamp(text):
    """(key, version) of a stamp whose check holds, else None."""
    try:
        k, v, c = text.split(':')
        key, version = int(k, 16), int(v)
    except ValueError:
        return None
    return (key, version) if stamp(key, version) == text else None


def initial(config):
    """{path: (key, runs, length)} of the datasets at the start, and
    {(path, name): value} of the stamps."""
    data = {PROBE: (records.key_of(PROBE), [(0, PROBE_RECORDS, 0)],
                    PROBE_RECORDS * records.RECORD)}
    attrs = {}
    for w in range(config['writers']):
        for path, n in ((fix_path(w), config['n_fix']),
                        (app_path(w), config['n_app0'])):
            data[path] = (records.key_of(path), [(0, n, 0)],
                          n * records.RECORD)
        for obj in (group_path(w), fix_path(w)):
            attrs[(obj, STAMP)] = stamp(records.key_of(obj), 0)
    for i in range(config['h5py']):
        path = h5py_data(i)
        n = config['n_h5py']
        data[path] = (records.key_of(path), [(0, n, 0)], n * records.RECORD)
        attrs[(h5py_group(i), STAMP)] = stamp(records.key_of(h5py_group(i)),
                                              0)
    return data, attrs


def make_file(path, config):
    """The initial HDF5 file, with h5py."""
    import h5py
    data, attrs = initial(config)
    with h5py.File(path, 'w') as f:
        for name, (key, runs, length) in sorted(data.items()):
            n = length // records.RECORD
            arr = np.frombuffer(records.state_bytes(key, runs, length),
                                dtype='<u8').reshape(n, records.WORDS)
            # Chunked datasets are deflated, shuffled and checksummed, so
            # that their readers go through the direct read path's decoder.
            packed = dict(compression='gzip', compression_opts=1,
                          shuffle=True, fletcher32=True)
            if name.endswith('/app'):
                f.create_dataset(name, data=arr,
                                 maxshape=(None, records.WORDS),
                                 chunks=(256, records.WORDS), **packed)
            elif name.startswith('/h'):
                f.create_dataset(name, data=arr, chunks=(64, records.WORDS),
                                 **packed)
            else:
                f.create_dataset(name, data=arr)
        for w in range(config['writers']):
            f.create_group('/w%d/t' % w)
        for (obj, name), value in attrs.items():
            f[obj].attrs[name[len('user.'):]] = value
        cross = crossing(config)
        if cross:
            big = cross[BIG]
            # contiguous, as in the hand-made test that found torn reads
            f.create_dataset(BIG, data=np.full(big['len'], big['fill'],
                                               dtype=np.uint8))
            f.create_dataset(SIDE, shape=(0, SIDE_ROW), dtype=np.uint8,
                             maxshape=(None, SIDE_ROW),
                             chunks=(64, SIDE_ROW))
