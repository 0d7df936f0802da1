#!/usr/bin/python3
"""Reads at any offset and length (SPEC.md section 3): dd with bs=1 and
skip=, bs=7, iflag=skip_bytes,count_bytes, reads that cut an element or a
row, reads that run over the end and past it, seeded random preads, and
many readers at once, each equal to the same slice of h5py's bytes."""

import os
import random
import subprocess

import harness
import expect


def dd(path, *operands):
    return harness.run(['dd', 'if=' + path, 'status=none'] + list(operands))


def slices(size, itemsize, row):
    """(description, dd operands, offset, length) of the reads to make."""
    cut = itemsize // 2 + 1 if itemsize > 1 else 1
    reads = [
        ('bs=1 from inside an element', ['bs=1', 'skip=%d' % cut,
                                        'count=%d' % (3 * itemsize + 1)],
         cut, 3 * itemsize + 1),
        ('bs=7 whole file', ['bs=7'], 0, size),
        ('bs=7 skip=1 count=3', ['bs=7', 'skip=1', 'count=3'], 7, 21),
        ('bs=3 skip=5 count=11', ['bs=3', 'skip=5', 'count=11'], 15, 33),
        ('across a row boundary',
         ['iflag=skip_bytes,count_bytes', 'bs=4096',
          'skip=%d' % max(row - 3, 0), 'count=%d' % (row + 5)],
         max(row - 3, 0), row + 5),
        ('one element exactly, second one',
         ['iflag=skip_bytes,count_bytes', 'bs=1k', 'skip=%d' % itemsize,
          'count=%d' % itemsize], itemsize, itemsize),
        ('over the end', ['iflag=skip_bytes,count_bytes', 'bs=1k',
                          'skip=%d' % max(size - 3, 0), 'count=100'],
         max(size - 3, 0), 100),
        ('at the end', ['iflag=skip_bytes', 'bs=1k', 'skip=%d' % size],
         size, 1024),
        ('past the end', ['bs=1', 'skip=%d' % (size + 5), 'count=10'],
         size + 5, 10),
        ('far past the end', ['iflag=skip_bytes,count_bytes', 'bs=1k',
                              'skip=%d' % (size + 2**40), 'count=10'],
         size + 2**40, 10),
    ]
    return reads


class DdSlices(harness.MountedTestCase):

    def datasets(self):
        return self.of_kind('dataset')

    def test_dd_slices(self):
        for entry in self.datasets():
            want_all = expect.dataset_bytes(entry.obj)
            itemsize, mask = expect.element_layout(entry.obj)
            row = expect.row_bytes(entry.obj)
            path = self.path(entry.path)
            for name, operands, offset, length in slices(len(want_all),
                                                         itemsize, row):
                with self.subTest(path=entry.path, read=name):
                    result = dd(path, *operands)
                    self.assertEqual((result.returncode, result.stderr),
                                     (0, ''), 'dd ' + ' '.join(operands))
                    want = want_all[offset:offset + length]
                    got = result.stdout
                    if len(got) != len(want) or not expect.slice_equal(
                            want_all, offset, got, itemsize, mask):
                        self.fail('dd %s (bytes %d..%d of %d) differs:\n%s'
                                  % (' '.join(operands), offset,
                                     offset + length, len(want_all),
                                     harness.describe_bytes_difference(
                                         want, got, itemsize, mask,
                                         offset)))

    def test_random_preads(self):
        rng = random.Random(7)
        for entry in self.datasets():
            want_all = expect.dataset_bytes(entry.obj)
            itemsize, mask = expect.element_layout(entry.obj)
            size = len(want_all)
            fd = os.open(self.path(entry.path), os.O_RDONLY)
            try:
                for _ in range(25):
                    offset = rng.randrange(0, size + 16)
                    length = rng.randrange(1, max(size // 2, 2) + 64)
                    with self.subTest(path=entry.path, offset=offset,
                                      length=length):
                        got = os.pread(fd, length, offset)
                        want = want_all[offset:offset + length]
                        if len(got) != len(want) or not expect.slice_equal(
                                want_all, offset, got, itemsize, mask):
                            self.fail('pread of %d bytes at %d (size %d) '
                                      'differs:\n%s' % (
                                          length, offset, size,
                                          harness.describe_bytes_difference(
                                              want, got, itemsize, mask,
                                              offset)))
            finally:
                os.close(fd)

    def test_parallel_readers(self):
        # Readers share the lock: many at once all get the right bytes.
        entries = [e for e in self.datasets()
                   if e.path.startswith(('/storage/', '/shapes/d'))] * 2
        procs = [(entry, subprocess.Popen(
            ['cat', self.path(entry.path)], stdout=subprocess.PIPE,
            stderr=subprocess.PIPE)) for entry in entries]
        for entry, proc in procs:
            got, err = proc.communicate(timeout=120)
            with self.subTest(entry.path):
                self.assertEqual((proc.returncode, err), (0, b''))
                want = expect.dataset_bytes(entry.obj)
                itemsize, mask = expect.element_layout(entry.obj)
                self.assertTrue(expect.bytes_equal(want, got, itemsize, mask),
                                harness.describe_bytes_difference(
                                    want, got, itemsize, mask))


if __name__ == '__main__':
    harness.main()
