#!/usr/bin/python3
"""A writer for test_locking.py, run under `h5swmrfs-ctl run --exclusive`.

    locking_writer.py FILE DATASET VALUE [--hold] [--pieces N]

Opens FILE with h5py in r+ mode, with HDF5's own file locking ON (the
variable HDF5_USE_FILE_LOCKING must not be set to FALSE: the point is that
the mounts of the file do not get in the way of a normal h5py writer), and
sets every element of DATASET to VALUE (same shape), in N pieces with a
flush after each, so that a reader not excluded by the lock would see a
mixture. VALUE '-' writes nothing (the script then only holds the lock).

--hold: after opening the file, print 'ready' and wait for one line on
stdin before writing ('go'); h5swmrfs-ctl passes stdin and stdout through,
so the test sees where the writer is and decides when it goes on. Waits at
most HOLD_TIMEOUT seconds, then exits 3.

Exit status: 0 written and closed; 2 the file could not be opened r+;
3 no go signal; 4 misuse.
"""

import os
import select
import sys
import traceback

HOLD_TIMEOUT = 60.0


def main(argv):
    args = [a for a in argv if not a.startswith('--')]
    hold = '--hold' in argv
    pieces = 8
    if '--pieces' in argv:
        pieces = int(argv[argv.index('--pieces') + 1])
        args.remove(str(pieces))
    if len(args) != 3:
        print('usage: locking_writer.py FILE DATASET VALUE [--hold] '
              '[--pieces N]', file=sys.stderr)
        return 4
    path, name, value = args
    if os.environ.get('HDF5_USE_FILE_LOCKING', '').upper() in ('FALSE', '0'):
        print('locking_writer.py: HDF5_USE_FILE_LOCKING is switched off; '
              'the writer must run with HDF5 file locking on',
              file=sys.stderr)
        return 4

    import h5py
    try:
        f = h5py.File(path, 'r+')
    except Exception:  # noqa: BLE001  (report whatever HDF5 said)
        print('locking_writer.py: cannot open %s r+:' % path, file=sys.stderr)
        traceback.print_exc()
        return 2
    with f:
        if hold:
            print('ready', flush=True)
            ready, _, _ = select.select([sys.stdin], [], [], HOLD_TIMEOUT)
            if not ready or not sys.stdin.readline():
                print('locking_writer.py: no go signal', file=sys.stderr)
                return 3
        if value != '-':
            ds = f[name]
            n = ds.shape[0]
            step = max(1, -(-n // pieces))
            for start in range(0, n, step):
                ds[start:start + step] = int(value)
                f.flush()
    print('done', flush=True)
    return 0


if __name__ == '__main__':
    sys.exit(main(sys.argv[1:]))
