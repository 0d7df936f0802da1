#!/usr/bin/python3
"""The zoo's 256 MiB dataset: `dd bs=1M` of the whole of it, and reads in
its middle, equal h5py's bytes (hashed in pieces, never all in memory)."""

import hashlib
import os
import subprocess

import numpy as np

import harness
import expect

PIECE_ROWS = 512
MIB = 1 << 20


class BigDataset(harness.MountedTestCase):
    ZOO_BIG = True

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.dset = cls.h5['big']
        cls.nbytes = cls.dset.size * cls.dset.dtype.itemsize

    def expected_range(self, offset, length):
        """h5py's bytes [offset, offset + length) of /big."""
        row = self.dset.shape[1] * self.dset.dtype.itemsize
        first, last = offset // row, (offset + length - 1) // row + 1
        data = np.array(self.dset[first:last], order='C')
        data = data.astype(expect.native(data.dtype)).tobytes()
        start = offset - first * row
        return data[start:start + length]

    def test_size(self):
        self.assertEqual(self.nbytes, 256 * MIB)
        self.assertEqual(os.stat(self.path('/big')).st_size, self.nbytes)
        self.assertEqual(os.getxattr(self.path('/big'), 'user.h5.shape'),
                         b'8192,8192')

    def test_dd_whole_equals_h5py(self):
        want = hashlib.sha256()
        for start in range(0, self.dset.shape[0], PIECE_ROWS):
            piece = np.array(self.dset[start:start + PIECE_ROWS], order='C')
            want.update(piece.astype(expect.native(piece.dtype)).tobytes())
        got = hashlib.sha256()
        size = 0
        with subprocess.Popen(['dd', 'if=' + self.path('/big'), 'bs=1M',
                               'status=none'], stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE) as proc:
            while True:
                block = proc.stdout.read(4 * MIB)
                if not block:
                    break
                got.update(block)
                size += len(block)
            stderr = proc.stderr.read().decode()
        self.assertEqual((proc.returncode, stderr), (0, ''))
        self.assertEqual(size, self.nbytes)
        self.assertEqual(got.hexdigest(), want.hexdigest())

    def test_dd_middle(self):
        for operands, offset, length in [
                (['bs=1M', 'skip=100', 'count=3'], 100 * MIB, 3 * MIB),
                (['iflag=skip_bytes,count_bytes', 'bs=1M',
                  'skip=%d' % (200 * MIB + 13), 'count=100003'],
                 200 * MIB + 13, 100003),
                (['bs=1M', 'skip=255', 'count=5'], 255 * MIB, MIB)]:
            with self.subTest(' '.join(operands)):
                result = harness.run(['dd', 'if=' + self.path('/big'),
                                      'status=none'] + operands)
                self.assertEqual((result.returncode, result.stderr), (0, ''))
                want = self.expected_range(offset, length)
                self.assertEqual(len(result.stdout), len(want))
                self.assertTrue(result.stdout == want,
                                harness.describe_bytes_difference(
                                    want, result.stdout, 4))


if __name__ == '__main__':
    harness.main()
