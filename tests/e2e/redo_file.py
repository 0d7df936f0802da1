#!/usr/bin/python3
"""Writes a redo file in the format of docs/LOCKING.md, as any program that
takes part in the protocol may: `redo_file.py FILE AFTER HALF` makes the
records that turn FILE into the bytes of AFTER, publishes them as
FILE.h5swmrfs-redo, and copies the first HALF of them into FILE, as a writer
killed halfway through applying its commit leaves things. Run it under an
exclusive hold of FILE's lock."""

import os
import struct
import sys


def differing_runs(before, after):
    runs, i = [], 0
    while i < len(after):
        if i < len(before) and before[i] == after[i]:
            i += 1
            continue
        j = i
        while j < len(after) and not (j < len(before) and before[j] == after[j]):
            j += 1
        runs.append((i, j - i))
        i = j
    return runs


def main(path, after_path, half):
    with open(path, 'rb') as f:
        before = f.read()
    with open(after_path, 'rb') as f:
        after = f.read()
    runs = differing_runs(before, after)
    records = b''.join(struct.pack('<QQ', at, n) + after[at:at + n] for at, n in runs)
    redo = (b'H5SWRDO1' + struct.pack('<Q', 0) + records + b'H5SWEND1'
            + struct.pack('<QQQQ', len(runs), len(records), len(after), 0))
    temp = path + '.redo-being-written'
    with open(temp, 'wb') as f:
        f.write(redo)
        f.flush()
        os.fsync(f.fileno())
    os.rename(temp, path + '.h5swmrfs-redo')
    with open(path, 'r+b') as f:
        for at, n in runs[:int(half)]:
            f.seek(at)
            f.write(after[at:at + n])
    print(len(runs))


if __name__ == '__main__':
    main(*sys.argv[1:])
