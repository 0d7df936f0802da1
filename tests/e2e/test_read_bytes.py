#!/usr/bin/python3
"""A dataset's bytes (SPEC.md section 3): `cat` of every dataset of the zoo
equals h5py's data in this host's byte order, `stat` gives its size, and
numpy.fromfile with user.h5.dtype and user.h5.shape rebuilds the array;
cp -a copies the tree with its bytes and xattrs."""

import ast
import os
import shutil

import numpy as np

import harness
import expect


def parse_dtype(text):
    """user.h5.dtype as a dtype; compounds the way .npy headers are read,
    so padding entries ('', '|Vn') stay padding."""
    if text.startswith('['):
        return np.lib.format.descr_to_dtype(ast.literal_eval(text))
    return np.dtype(text)


def parse_shape(text):
    return tuple(int(n) for n in text.split(',')) if text else ()


class ReadBytes(harness.MountedTestCase):

    def datasets(self):
        return self.of_kind('dataset')

    def test_cat_equals_h5py(self):
        for entry in self.datasets():
            with self.subTest(entry.path):
                want = expect.dataset_bytes(entry.obj)
                result = harness.run(['cat', self.path(entry.path)])
                self.assertEqual((result.returncode, result.stderr), (0, ''))
                itemsize, mask = expect.element_layout(entry.obj)
                if not expect.bytes_equal(want, result.stdout, itemsize,
                                          mask):
                    self.fail('cat %s differs from h5py (dtype %s):\n%s' % (
                        entry.path, entry.obj.dtype,
                        harness.describe_bytes_difference(
                            want, result.stdout, itemsize, mask)))

    def test_stat_size_is_nbytes(self):
        for entry in self.datasets():
            with self.subTest(entry.path):
                want = len(expect.dataset_bytes(entry.obj))
                self.assertEqual(os.stat(self.path(entry.path)).st_size,
                                 want)

    def test_read_in_one_call(self):
        # One read(2) asking for more than the file: a short read is the
        # whole file, the next read is end of file.
        for entry in self.datasets():
            with self.subTest(entry.path):
                want = expect.dataset_bytes(entry.obj)
                itemsize, mask = expect.element_layout(entry.obj)
                fd = os.open(self.path(entry.path), os.O_RDONLY)
                try:
                    got = os.read(fd, len(want) + 4096)
                    rest = os.read(fd, 4096)
                finally:
                    os.close(fd)
                self.assertTrue(expect.bytes_equal(want, got, itemsize, mask),
                                harness.describe_bytes_difference(
                                    want, got, itemsize, mask))
                self.assertEqual(rest, b'')

    def test_fromfile_rebuilds_array(self):
        for entry in self.datasets():
            if expect.is_vlen_string(entry.obj):
                continue
            with self.subTest(entry.path):
                path = self.path(entry.path)
                dtype = parse_dtype(os.getxattr(path, 'user.h5.dtype')
                                    .decode())
                shape = parse_shape(os.getxattr(path, 'user.h5.shape')
                                    .decode())
                got = np.fromfile(path, dtype).reshape(shape + dtype.shape)
                want = np.array(entry.obj[()], order='C')
                want = want.astype(expect.native(want.dtype))
                self.assertEqual(got.shape, want.shape)
                self.assertEqual(got.dtype, want.dtype)
                itemsize, mask = expect.element_layout(entry.obj)
                self.assertTrue(
                    expect.bytes_equal(want.tobytes(), got.tobytes(),
                                       itemsize, mask),
                    harness.describe_bytes_difference(
                        want.tobytes(), got.tobytes(), itemsize, mask))

    def test_cp_a_copies_tree(self):
        dest = os.path.join(self.tmp, 'copy')
        try:
            result = harness.run(['cp', '-a', self.mnt, dest])
            for entry in self.datasets():
                with self.subTest(entry.path):
                    copy = os.path.join(dest, entry.path.lstrip('/'))
                    with open(copy, 'rb') as f:
                        got = f.read()
                    want = expect.dataset_bytes(entry.obj)
                    itemsize, mask = expect.element_layout(entry.obj)
                    self.assertTrue(
                        expect.bytes_equal(want, got, itemsize, mask),
                        harness.describe_bytes_difference(want, got,
                                                          itemsize, mask))
                    self.assertEqual(os.getxattr(copy, 'user.h5.shape'),
                                     os.getxattr(self.path(entry.path),
                                                 'user.h5.shape'))
            self.assertEqual((result.returncode, result.stderr), (0, ''))
        finally:
            shutil.rmtree(dest, ignore_errors=True)


if __name__ == '__main__':
    harness.main()
