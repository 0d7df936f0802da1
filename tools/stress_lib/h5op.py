#!/usr/bin/python3
"""An h5py program the stress tool runs under `h5swmrfs-ctl run`:

    h5op.py write FILE DATASET KEY VERSION N GROUP STAMP   (--exclusive)
    h5op.py read FILE DATASET...                           (--shared)

write: opens FILE r+ with h5py (HDF5 file locking as the user has it) and
rewrites DATASET, (N, 4) <u8, as records of KEY at VERSION, then sets
GROUP's attribute 'stamp'. read: prints JSON {t_open, data: {path: {n, sha,
dec} or {error}}}; t_open is time.monotonic() just before the file is
opened (the hold is already taken).
"""

import json
import os
import sys
import time

sys.dont_write_bytecode = True  # nothing written into the source tree
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(
    __file__))))

import h5py  # noqa: E402
import numpy as np  # noqa: E402

from stress_lib import records  # noqa: E402


def main(argv):
    op, path = argv[1], argv[2]
    if op == 'write':
        name, key, version, n, group, stamp = argv[3:9]
        data = np.frombuffer(records.make(int(key), [int(version)] * int(n)),
                             dtype='<u8').reshape(int(n), records.WORDS)
        with h5py.File(path, 'r+') as f:
            f[name][...] = data
            f[group].attrs['stamp'] = stamp
        return 0
    t_open = time.monotonic()
    out = {}
    with h5py.File(path, 'r') as f:
        for name in argv[3:]:
            try:
                raw = np.ascontiguousarray(f[name][()]).tobytes()
            except Exception as e:  # noqa: BLE001 report what HDF5 said
                out[name] = {'error': repr(e)[:300]}
                continue
            out[name] = {'n': len(raw), 'sha': records.digest(raw),
                         'dec': records.decode(raw, 0)}
    print(json.dumps({'t_open': t_open, 'data': out}))
    return 0


if __name__ == '__main__':
    sys.exit(main(sys.argv))
