#!/usr/bin/python3
"""New datasets (SPEC.md section 5): `cp src new` makes a 1-D |u1 chunked
dataset of unlimited maxshape holding the bytes; content that starts with
the .npy magic makes a dataset of the array's dtype and shape holding only
its data; `touch new` makes an empty dataset."""

import errno
import io
import os

import h5py
import numpy as np

import write_harness as wh

RNG = np.random.default_rng(11)


def build(f):
    f.create_group('g')
    f.create_dataset('keep', data=np.arange(4, dtype='<i8'))


def npy_bytes(array, version=None):
    out = io.BytesIO()
    if version is None:
        np.save(out, array)
    else:
        np.lib.format.write_array(out, array, version=version)
    return out.getvalue()


class New(wh.WriteTestCase):

    def setUp(self):
        super().setUp()
        self.make_file(build)

    def check_bytes_dataset(self, h5path, data):
        """A new raw dataset: 1-D |u1, chunked, unlimited, holding data."""
        mounted = self.p(h5path.lstrip('/'))
        self.assertEqual(self.cat(mounted), data)
        self.assertEqual(os.stat(mounted).st_size, len(data))
        self.assertEqual(self.xattr(mounted, 'user.h5.dtype'), '|u1')
        self.assertEqual(self.xattr(mounted, 'user.h5.shape'),
                         str(len(data)))
        self.assertEqual(self.xattr(mounted, 'user.h5.maxshape'), 'inf')
        self.assertEqual(self.xattr(mounted, 'user.h5.layout'), 'chunked')
        with self.h5() as f:
            ds = f[h5path]
            self.assertIsInstance(ds, h5py.Dataset)
            self.assertEqual(ds.dtype, np.dtype('|u1'))
            self.assertEqual(ds.shape, (len(data),))
            self.assertEqual(ds.maxshape, (None,))
            self.assertIsNotNone(ds.chunks)
            self.assertEqual(ds[()].tobytes(), data)

    def test_cp_new_is_u1(self):
        self.mount()
        cases = {'/g/new': RNG.bytes(100000), '/top': b'hello world\n',
                 '/g/one': b'\x00', '/g/big': RNG.bytes(3 << 20)}
        for h5path, data in cases.items():
            with self.subTest(h5path):
                src = self.src(h5path.replace('/', '_'), data)
                self.assert_ok(self.run_tool('cp', src,
                                             self.p(h5path.lstrip('/'))))
                self.check_bytes_dataset(h5path, data)
        self.unmount_all()
        with h5py.File(self.h5path, 'r') as f:
            for h5path, data in cases.items():
                self.assertEqual(f[h5path][()].tobytes(), data)
            self.assertEqual(f['keep'][()].tolist(), [0, 1, 2, 3])

    def test_shell_redirect_and_python_writes(self):
        self.mount()
        self.assert_ok(self.sh('echo hello > "$1"', self.p('g', 'echo')))
        self.check_bytes_dataset('/g/echo', b'hello\n')
        data = RNG.bytes(70001)
        with open(self.p('g', 'py'), 'wb') as out:
            for i in range(0, len(data), 4096):
                out.write(data[i:i + 4096])
        self.check_bytes_dataset('/g/py', data)
        # O_EXCL on an existing name
        self.assert_errno(lambda: os.open(self.p('g', 'py'),
                                          os.O_WRONLY | os.O_CREAT
                                          | os.O_EXCL), errno.EEXIST)

    def test_touch_makes_empty_dataset(self):
        self.mount()
        self.assert_ok(self.run_tool('touch', self.p('g', 'empty')))
        path = self.p('g', 'empty')
        self.assertEqual(os.stat(path).st_size, 0)
        self.assertEqual(self.cat(path), b'')
        with self.h5() as f:
            ds = f['g/empty']
            self.assertIsInstance(ds, h5py.Dataset)
            self.assertEqual(ds.size, 0)
        # then cp of raw bytes into it
        data = RNG.bytes(1234)
        self.assert_ok(self.run_tool('cp', self.src('d', data), path))
        self.check_bytes_dataset('/g/empty', data)

    def test_new_in_missing_group_fails(self):
        self.mount(errors=True)
        before = self.snapshot()
        self.assert_fails(self.run_tool('cp', self.src('x', b'abc'),
                                        self.p('nope', 'x')), errno.ENOENT)
        self.assert_unchanged(before)

    # -- .npy ----------------------------------------------------------------

    def check_npy(self, h5path, array):
        """The dataset holds array: h5py reads the same values and shape;
        the mount shows its native bytes only (no header)."""
        mounted = self.p(h5path.lstrip('/'))
        want_dtype = wh.native(array.dtype)
        with self.h5() as f:
            ds = f[h5path]
            self.assertEqual(ds.shape, array.shape)
            self.assertEqual(ds.dtype.kind, array.dtype.kind)
            self.assertEqual(ds.dtype.itemsize, array.dtype.itemsize)
            if array.dtype.names:
                self.assertEqual(ds.dtype.names, array.dtype.names)
                self.assertEqual(wh.native(ds.dtype), want_dtype)
            got = ds[()]
            self.assertEqual(got.tolist(), array.tolist())
        self.assertEqual(os.stat(mounted).st_size, array.nbytes)
        got = self.cat(mounted)
        self.assertEqual(len(got), array.nbytes, 'header left in the data?')
        self.assertEqual(np.frombuffer(got, want_dtype).reshape(array.shape)
                         .tolist(), array.tolist())
        self.assertEqual(self.xattr(mounted, 'user.h5.shape'),
                         ','.join(map(str, array.shape)))
        dtype_text = self.xattr(mounted, 'user.h5.dtype')
        if array.dtype.names:
            self.assertEqual(dtype_text, str(want_dtype.descr))
        else:
            self.assertEqual(dtype_text, want_dtype.str)

    def npy_cases(self):
        return {
            'f32_2d': np.arange(35, dtype='<f4').reshape(5, 7) / 4,
            'structured': np.array([(1, 2.5, b'ab'), (-3, 1e10, b'xyz')],
                                   dtype=[('i', '<i4'), ('x', '<f8'),
                                          ('s', 'S3')]),
            'big_endian': np.array([1, -2, 2**31 - 1, -2**31], dtype='>i4'),
            'u2_3d': np.arange(24, dtype='<u2').reshape(2, 3, 4),
            'scalar_row': np.array([7.25], dtype='<f8'),
        }

    def test_cp_npy(self):
        self.mount()
        for name, array in self.npy_cases().items():
            with self.subTest(name):
                src = self.src(name + '.npy', npy_bytes(array))
                self.assert_ok(self.run_tool('cp', src, self.p('g', name)))
                self.check_npy('/g/' + name, array)
        self.unmount_all()
        with h5py.File(self.h5path, 'r') as f:
            for name, array in self.npy_cases().items():
                self.assertEqual(f['g'][name][()].tolist(), array.tolist())

    def test_npy_in_small_writes(self):
        # The header arrives over several write(2) calls.
        self.mount()
        array = np.arange(60, dtype='<i2').reshape(6, 10)
        src = self.src('a.npy', npy_bytes(array))
        self.assert_ok(self.run_tool('dd', 'if=' + src,
                                     'of=' + self.p('g', 'small'), 'bs=7',
                                     'status=none'))
        self.check_npy('/g/small', array)

    def test_npy_version_2(self):
        self.mount()
        array = np.arange(10, dtype='<f8').reshape(2, 5)
        src = self.src('v2.npy', npy_bytes(array, version=(2, 0)))
        self.assert_ok(self.run_tool('cp', src, self.p('g', 'v2')))
        self.check_npy('/g/v2', array)

    def test_npy_fortran_order(self):
        # Not named by the contract: the array as numpy.load gives it, or
        # a clear EINVAL, never transposed data.
        self.mount(errors=True)
        array = np.asfortranarray(np.arange(12, dtype='<i4').reshape(3, 4))
        src = self.src('f.npy', npy_bytes(array))
        result = self.run_tool('cp', src, self.p('g', 'fortran'))
        if result.returncode == 0:
            self.check_npy('/g/fortran', np.ascontiguousarray(array))
        else:
            self.assert_fails(result, errno.EINVAL)
            with self.h5() as f:
                ds = f['g'].get('fortran')
                self.assertTrue(ds is None or ds.size == 0,
                                'half-made dataset %r' % ds)


class BareFileName(wh.WriteTestCase):
    """`h5swmrfs --lock local data.h5 MNT` run in the file's directory: a bare
    relative name. Its journal, redo file, spill files and sidecar lock all
    go beside the file, and writes work."""

    def test_relative_bare_name(self):
        self.make_file(lambda f: f.create_dataset(
            'rows', shape=(0, 4), maxshape=(None, 4), dtype='<i4'))
        mnt = os.path.join(self.tmp, 'mnt')
        os.mkdir(mnt)
        mount = wh.harness.Mount('file.h5', mnt, None, args=['--lock', 'local'],
                                 cwd=self.tmp)
        mount.start()
        self.mounts.append(mount)
        self.addCleanup(wh.on_termination(lambda: mount.stop(check_status=False)))
        self.addCleanup(self.unmount, mount)
        big = np.random.default_rng(3).integers(0, 256, 9 << 20, dtype='u1')
        src = self.src('big.bin', big.tobytes())  # past 8 MiB: staged in a spill file
        self.assert_ok(self.run_tool('cp', src, os.path.join(mnt, 'big')))
        self.assertEqual(self.write_fd(os.path.join(mnt, 'rows'), b'\1' * 16,
                                       os.O_WRONLY | os.O_APPEND), 0)
        self.assertTrue(os.path.exists(os.path.join(self.tmp,
                                                    'file.h5.h5swmrfs-lock')))
        self.unmount(mount)
        self.assertEqual(sorted(os.listdir(self.tmp)),
                         ['file.h5', 'file.h5.h5swmrfs-lock', 'mnt', 'mnt.log', 'src'])
        with self.h5() as f:
            self.assertEqual(f['big'][()].tobytes(), big.tobytes())
            self.assertEqual(f['rows'][()].tolist(), [[0x01010101] * 4])


if __name__ == '__main__':
    wh.main()
