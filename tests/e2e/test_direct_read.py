#!/usr/bin/python3
"""The direct read path (pread and decoding past HDF5) against H5Dread: every
dataset of make_direct.py read through a mount with --direct (with and without
the page cache) and one with --no-direct, whole and at seeded random ranges
that cut elements and rows,
byte for byte, and against h5py where it reads the type; the datasets the
direct path must leave to HDF5 are left to it; damaged chunks are EIO with a
log line naming the dataset and chunk, and the mount goes on; a dataset grown
through the mount reads as grown (a new generation, its chunks looked up again);
threads reading through one descriptor at once get the same bytes."""

import concurrent.futures
import errno
import os
import random
import re
import subprocess
import tempfile
import unittest

import h5py
import numpy as np

import expect
import harness

HERE = os.path.dirname(os.path.abspath(__file__))
RANGES_PER_DATASET = 24


def make(kind, path):
    out = subprocess.run([harness.PYTHON, os.path.join(HERE, 'make_direct.py'), kind, path],
                         check=True, capture_output=True, text=True).stdout
    return [line.split('\t') for line in out.splitlines()]


PAGE = os.sysconf('SC_PAGE_SIZE')


def pread(path, offset, length):
    fd = os.open(path, os.O_RDONLY)
    try:
        return os.pread(fd, length, offset)
    finally:
        os.close(fd)


def pread_all(fd, offset, length):
    """pread until `length` bytes or the end."""
    data = b''
    while len(data) < length:
        piece = os.pread(fd, length - len(data), offset + len(data))
        if not piece:
            break
        data += piece
    return data


def read_through(path, offset, length):
    """pread until `length` bytes or the end, as cat does: through the page
    cache, a read of good pages before a bad one returns them (a short
    count), and the next read fails."""
    fd = os.open(path, os.O_RDONLY)
    try:
        return pread_all(fd, offset, length)
    finally:
        os.close(fd)


def whole(path):
    with open(path, 'rb') as f:
        return f.read()


class DirectRead(unittest.TestCase):

    @classmethod
    def setUpClass(cls):
        harness.require_host()
        cls.tmpdir = tempfile.TemporaryDirectory(prefix='h5swmrfs-direct-')
        cls.tmp = cls.tmpdir.name
        cls.redis = harness.Redis().start()
        cls.h5path = os.path.join(cls.tmp, 'matrix.h5')
        cls.listing = make('matrix', cls.h5path)
        cls.damaged_path = os.path.join(cls.tmp, 'damaged.h5')
        cls.damage = make('damaged', cls.damaged_path)
        cls.mounts = []
        # A small cache (1 MiB) so that chunks are dropped and decoded again; --debug for
        # the line that tells which path each dataset takes (libfuse's own debug lines
        # report the operations it does not have, ENOSYS, as errors).
        cls.direct = cls.mount(cls.h5path, 'direct', ['--debug', '--threads', '2', '--chunk-cache', '1'],
                               expected_errors=[r'unique: \d+, error: -38 \(Function not implemented\)'])
        # Without the page cache, reads reach the daemon at any offset and length (through
        # it, whole pages): ranges that cut elements.
        cls.uncached = cls.mount(cls.h5path, 'uncached', ['--no-cache', '--threads', '2', '--chunk-cache', '1'])
        cls.hdf5 = cls.mount(cls.h5path, 'hdf5', ['--no-direct'])
        cls.damaged = cls.mount(cls.damaged_path, 'damaged', ['--threads', '2'],
                                expected_errors=[r'/checked: chunk \(1500\) at byte \d+: fletcher32 checksum mismatch',
                                                 r'/deflated: chunk \(1500\) at byte \d+: inflate failed'])

    @classmethod
    def mount(cls, h5path, name, args, expected_errors=()):
        mnt = os.path.join(cls.tmp, name)
        os.mkdir(mnt)
        mount = harness.Mount(h5path, mnt, cls.redis.url(), args=args, expected_errors=expected_errors)
        mount.start()
        cls.mounts.append(mount)
        return mount

    @classmethod
    def tearDownClass(cls):
        problems = []
        for mount in cls.mounts:
            found = mount.stop()
            if found:
                problems.append('%s: %s' % (mount.mountpoint, '; '.join(found)))
        cls.redis.stop()
        cls.tmpdir.cleanup()
        if problems:
            raise AssertionError('daemon problems:\n  ' + '\n  '.join(problems))

    def at(self, mount, name):
        return os.path.join(mount.mountpoint, name)

    def test_1_direct_equals_hdf5_and_h5py(self):
        def check(name):
            direct_path, hdf5_path = self.at(self.direct, name), self.at(self.hdf5, name)
            want = whole(hdf5_path)
            got = whole(direct_path)
            failures = []
            if got != want:
                failures.append('%s whole: %s' % (name, harness.describe_bytes_difference(want, got)))
            with h5py.File(self.h5path, 'r') as f:
                ds = f[name]
                try:
                    h5py_bytes = expect.dataset_bytes(ds)
                    itemsize, mask = expect.element_layout(ds)
                except (TypeError, ValueError):  # a type h5py does not read (bitfields)
                    h5py_bytes = None
                row = ds.dtype.itemsize * (ds.shape[-1] if ds.shape else 1)
            if h5py_bytes is not None and not expect.bytes_equal(h5py_bytes, got, itemsize, mask):
                failures.append('%s differs from h5py: %s' % (
                    name, harness.describe_bytes_difference(h5py_bytes, got, itemsize, mask)))
            rng = random.Random(name)
            size = len(want)
            for _ in range(RANGES_PER_DATASET):
                offset = rng.randrange(size + 8)
                length = rng.choice([1, rng.randrange(1, 8), rng.randrange(1, row + 2), rng.randrange(1, 3 * row + 2),
                                     rng.randrange(1, size + 16)])
                for path in (direct_path, self.at(self.uncached, name)):
                    got_range = pread(path, offset, length)
                    if got_range != want[offset:offset + length]:
                        failures.append('%s [%d, +%d): %s' % (path, offset, length, harness.describe_bytes_difference(
                            want[offset:offset + length], got_range, base=offset)))
            return failures

        names = [name for name, _ in self.listing]
        # Several readers at once, as the pool and the cache must allow.
        with concurrent.futures.ThreadPoolExecutor(4) as pool:
            failures = [f for found in pool.map(check, names) for f in found]
        self.assertEqual(failures, [])

    def test_2_each_dataset_takes_the_path_it_must(self):
        for name, _ in self.listing:  # every dataset opened at least once
            whole(self.at(self.direct, name))
        log = self.direct.log_text()
        for name, path in self.listing:
            with self.subTest(name):
                direct = re.search(r'/%s: read directly' % re.escape(name), log)
                hdf5 = re.search(r'/%s: read through HDF5' % re.escape(name), log)
                self.assertEqual((bool(direct), bool(hdf5)), (path == 'direct', path == 'hdf5'))

    def test_3_damaged_chunks_are_eio_and_the_mount_goes_on(self):
        data = np.arange(4000, dtype='<i4').tobytes()
        for name, offset, length in self.damage:
            offset, length = int(offset), int(length)
            path = self.at(self.damaged, name)
            with self.subTest(name):
                for at, n in ((offset, length), (offset + 7, 13), (offset - 5, 10), (0, len(data))):
                    with self.assertRaises(OSError) as raised:
                        read_through(path, at, n)
                    self.assertEqual(raised.exception.errno, errno.EIO)
                # The rest of it, and the other datasets, read: through the page
                # cache, what lies outside the pages the damaged chunk touches.
                before = offset // PAGE * PAGE
                after = -(-(offset + length) // PAGE) * PAGE
                self.assertEqual(read_through(path, 0, before), data[:before])
                self.assertEqual(read_through(path, after, len(data)), data[after:])
        self.assertEqual(whole(self.at(self.damaged, 'intact')), data)
        log = self.damaged.log_text()
        self.assertRegex(log, r'/checked: chunk \(1500\) at byte \d+: fletcher32 checksum mismatch')
        self.assertRegex(log, r'/deflated: chunk \(1500\) at byte \d+: inflate failed')

    def test_4_a_grown_dataset_reads_grown(self):
        name = 'growing'
        with h5py.File(self.damaged_path, 'r') as f:
            self.assertNotIn(name, f)
        path = self.at(self.damaged, name)
        rows = np.arange(3000, dtype='<u2')
        # A new dataset through the mount (1-D |u1, chunked, resizable), then appends.
        with open(path, 'wb') as f:
            f.write(rows[:1000].tobytes())
        self.assertEqual(whole(path), rows[:1000].tobytes())
        for start in (1000, 2000):
            with open(path, 'ab') as f:
                f.write(rows[start:start + 1000].tobytes())
            self.assertEqual(whole(path), rows[:start + 1000].tobytes())
            self.assertEqual(pread(path, 2 * start - 3, 9), rows.tobytes()[2 * start - 3:2 * start + 6])

    def test_5_reads_of_one_descriptor_at_once(self):
        # Threads reading through one open file description: its requests run in the
        # daemon at once (each open's reads of the direct path decode together).
        rng = random.Random(5)
        names = [name for name, _ in self.listing]
        failures = []
        for mount in (self.uncached, self.direct):
            for name in rng.sample(names, 32):
                want = whole(self.at(self.hdf5, name))
                fd = os.open(self.at(mount, name), os.O_RDONLY)

                def reader(seed):
                    r, wrong = random.Random(seed), []
                    for _ in range(12):
                        offset = r.randrange(len(want) + 8)
                        length = r.randrange(1, max(2, len(want) // 3))
                        got = pread_all(fd, offset, length)
                        if got != want[offset:offset + length]:
                            wrong.append('%s [%d, +%d): %s' % (
                                self.at(mount, name), offset, length, harness.describe_bytes_difference(
                                    want[offset:offset + length], got, base=offset)))
                    return wrong

                try:
                    with concurrent.futures.ThreadPoolExecutor(6) as pool:
                        failures += [f for found in pool.map(reader, range(6)) for f in found]
                finally:
                    os.close(fd)
        self.assertEqual(failures, [])


if __name__ == '__main__':
    harness.main()
