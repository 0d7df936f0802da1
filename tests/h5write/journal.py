#!/usr/bin/python3
"""The journal tests' files: `make PATH` writes one with h5py; `dump PATH`
prints every object's name and, for datasets, the SHA-256 of its bytes, as
h5py reads them."""

import hashlib
import sys

import h5py
import numpy as np


def make(path):
    with h5py.File(path, 'w') as f:
        f['data'] = np.arange(4096, dtype='<i4')
        f.create_dataset('chunked', data=np.linspace(0, 1, 3000), chunks=(500,),
                         compression='gzip', shuffle=True)
        f['data'].attrs['units'] = 'K'
        f.create_group('run1')['temps'] = np.ones((64, 8), dtype='<f4')


def dump(path):
    lines = []

    def visit(name, obj):
        if isinstance(obj, h5py.Dataset):
            data = np.ascontiguousarray(obj[...])
            lines.append('%s\t%s\t%s' % (name, data.shape, hashlib.sha256(data.tobytes()).hexdigest()))
        else:
            lines.append('%s\tgroup' % name)
        for key, value in sorted(obj.attrs.items()):
            lines.append('%s@%s\t%r' % (name, key, value))

    with h5py.File(path, 'r') as f:
        f.visititems(visit)
    print('\n'.join(lines))


if __name__ == '__main__':
    {'make': make, 'dump': dump}[sys.argv[1]](sys.argv[2])
