#!/usr/bin/python3
"""Bad input never corrupts the file (SPEC.md section 5): wrong sizes,
bad type strings, unknown and existing names, huge offsets, wrong kinds of
objects each get a clear error and leave the committed content intact,
h5dump reads the file afterwards; names with any byte but '/' and NUL
work."""

import errno
import io
import os
import subprocess

import h5py
import numpy as np

import write_harness as wh

TIB = 1 << 40
FIXED = np.arange(12, dtype='<i4').reshape(4, 3)


def build(f):
    g = f.create_group('g')
    g.create_dataset('fixed', data=FIXED)
    g.create_dataset('grow', data=np.arange(8, dtype='u1'),
                     maxshape=(None,), chunks=(64,))
    sub = g.create_group('sub')
    sub.create_dataset('x', data=np.arange(3, dtype='<f4'))
    f.create_group('h')
    f.create_group('empty')
    f.attrs['keep'] = 'me'


ODD_NAMES = ['with space', ' lead and trail ', 'h\u00e9 \u00fcnic\u00f6de \u2603',
             'new\nline', '-dash', '--double', 'tab\there', "qu'o\"te",
             'back\\slash', '*?[glob]', '.hidden', '...', 'colon:semi;',
             '%s%n', 'x' * 255, b'bad\xff\xfebytes', b'\x01\x1f\x7f ctl']


def fs_name(name):
    return name if isinstance(name, bytes) else name.encode('utf-8')


class Errors(wh.WriteTestCase):

    def setUp(self):
        super().setUp()
        self.make_file(build)

    def fspath(self, *parts):
        """Mounted path as bytes (names may be non-UTF-8)."""
        return os.path.join(os.fsencode(self.mnt),
                            *[fs_name(p) for p in parts])

    def test_failed_commit_is_not_committed_later(self):
        # The close that commits cannot get the lock (another program holds
        # it past --lock-timeout): close() fails with EBUSY, and what it staged
        # is dropped — not committed by the release once the lock is free.
        mount = self.mount(args=['--lock-timeout', '1'], errors=True)
        path = self.p('g', 'fixed')
        new = (np.arange(12, dtype='<i4') + 1000).tobytes()
        fd = os.open(path, os.O_WRONLY | os.O_TRUNC)
        self.assertEqual(os.write(fd, new), len(new))
        holder = subprocess.Popen(
            [self.ctl, '--redis', self.redis.url(), 'run', '--exclusive', self.h5path, '--',
             '/bin/sh', '-c', 'echo held; read line'],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        try:
            self.assertEqual(holder.stdout.readline(), b'held\n')
            with self.assertRaises(OSError) as caught:
                os.close(fd)
            self.assertEqual(caught.exception.errno, errno.EBUSY)
        finally:
            holder.communicate(b'\n', timeout=30)
        self.unmount(mount)  # the release has been served
        with h5py.File(self.h5path, 'r') as f:
            np.testing.assert_array_equal(f['g/fixed'][...], FIXED)

    def test_odd_names(self):
        self.mount()
        created = {}
        dirs = []
        for i, name in enumerate(ODD_NAMES):
            with self.subTest(name=name):
                data = ('content %d\n' % i).encode()
                src = self.src('s%d' % i, data)
                self.assert_ok(self.run_tool(b'cp', b'--', os.fsencode(src),
                                             self.fspath('h', name)))
                self.assertEqual(self.cat(self.fspath('h', name)), data)
                self.assert_ok(self.run_tool(b'mkdir', b'--',
                                             self.fspath('g', name)))
                self.assertTrue(os.path.isdir(self.fspath('g', name)))
                created[name] = data
                dirs.append(name)
        self.assertEqual(sorted(os.listdir(self.fspath('h'))),
                         sorted(fs_name(n) for n in ODD_NAMES))
        # rename to another odd name, run a tool with cwd in the mount
        self.assert_ok(self.run_tool('mv', '--', '-dash', '--renamed',
                                     cwd=self.p('h')))
        created['--renamed'] = created.pop('-dash')
        with self.h5() as f:
            for name, data in created.items():
                with self.subTest(h5py=name):
                    self.assertEqual(f['h'][name][()].tobytes(), data)
            for name in dirs:
                with self.subTest(h5py_group=name):
                    self.assertIsInstance(f['g'][name], h5py.Group)
            self.assertNotIn('-dash', f['h'])
        for name in created:
            with self.subTest(rm=name):
                self.assert_ok(self.run_tool(b'rm', b'--',
                                             self.fspath('h', name)))
        for name in dirs:
            with self.subTest(rmdir=name):
                self.assert_ok(self.run_tool(b'rmdir', b'--',
                                             self.fspath('g', name)))
        with self.h5() as f:
            self.assertEqual(list(f['h']), [])
            self.assertEqual(sorted(f['g']), ['fixed', 'grow', 'sub'])

    def test_existing_names(self):
        self.mount(errors=True)
        before = self.snapshot()
        for name in ('g', 'g/fixed', 'empty'):
            with self.subTest(mkdir=name):
                self.assert_fails(self.run_tool('mkdir', self.p(name)),
                                  errno.EEXIST)
        self.assert_fails(self.run_tool('ln', '-s', 'fixed',
                                        self.p('g', 'grow')), errno.EEXIST)
        self.assert_fails(self.run_tool('ln', self.p('g', 'sub', 'x'),
                                        self.p('g', 'fixed')), errno.EEXIST)
        self.assert_errno(lambda: os.open(self.p('g', 'fixed'),
                                          os.O_WRONLY | os.O_CREAT
                                          | os.O_EXCL), errno.EEXIST)
        self.assert_unchanged(before)

    def test_wrong_kinds(self):
        self.mount(errors=True)
        before = self.snapshot()
        self.assert_fails(self.run_tool('rm', self.p('g')), errno.EISDIR)
        self.assert_errno(lambda: os.unlink(self.p('empty')), errno.EISDIR)
        self.assert_fails(self.run_tool('rmdir', self.p('g', 'fixed')),
                          errno.ENOTDIR)
        self.assert_fails(self.sh('echo x > "$1"', self.p('g')),
                          errno.EISDIR)
        # a file onto a directory, a directory onto a file
        self.assert_errno(lambda: os.rename(self.p('g', 'fixed'),
                                            self.p('empty')), errno.EISDIR)
        self.assert_errno(lambda: os.rename(self.p('h'),
                                            self.p('g', 'fixed')),
                          errno.ENOTDIR)
        # onto a non-empty directory; into itself
        self.assert_errno(lambda: os.rename(self.p('h'), self.p('g')),
                          errno.ENOTEMPTY, errno.EEXIST)
        self.assert_errno(lambda: os.rename(self.p('g'),
                                            self.p('g', 'sub', 'in')),
                          errno.EINVAL)
        self.assert_unchanged(before)

    def test_unknown_names(self):
        self.mount(errors=True)
        before = self.snapshot()
        missing = self.p('g', 'missing')
        self.assert_fails(self.run_tool('cat', missing), errno.ENOENT)
        self.assert_fails(self.run_tool('rm', missing), errno.ENOENT)
        self.assert_fails(self.run_tool('rmdir', missing), errno.ENOENT)
        self.assert_fails(self.run_tool('mv', missing, self.p('g', 'y')),
                          errno.ENOENT)
        self.assert_fails(self.run_tool('setfattr', '-n', 'user.a', '-v',
                                        'b', missing), errno.ENOENT)
        self.assert_fails(self.run_tool('mkdir', self.p('nope', 'dir')),
                          errno.ENOENT)
        self.assert_fails(self.run_tool('ln', missing, self.p('g', 'z')),
                          errno.ENOENT)
        self.assert_unchanged(before)

    def test_wrong_sizes_and_types(self):
        self.mount(errors=True)
        before = self.snapshot()
        fixed = self.p('g', 'fixed')
        self.assert_fails(self.run_tool('cp', self.src('short', b'x' * 47),
                                        fixed), errno.EINVAL)
        self.assert_fails(self.run_tool('setfattr', '-n', 'user.h5.dtype',
                                        '-v', 'nonsense', fixed),
                          errno.EINVAL)
        self.assert_fails(self.run_tool('setfattr', '-n', 'user.h5.dtype',
                                        '-v', '<i8', fixed), errno.EINVAL)
        self.assert_fails(self.run_tool('setfattr', '-n', 'user.h5.shape',
                                        '-v', '7', fixed), errno.EINVAL)
        self.assert_unchanged(before)
        self.assertEqual(self.cat(fixed), FIXED.tobytes())

    def dd_far(self, name, *more):
        src = self.src('one', b'Z')
        return self.run_tool('dd', 'if=' + src, 'of=' + self.p(*name),
                             'bs=1', 'seek=1T', 'status=none', *more)

    def test_huge_offset_fixed(self):
        self.H5DUMP_ARGS = ('-H',)  # in case it grew anyway
        self.mount(errors=True)
        before = self.snapshot()
        self.assert_fails(self.dd_far(('g', 'fixed'), 'conv=notrunc'),
                          errno.EFBIG, errno.EINVAL)
        self.assert_unchanged(before)
        # pwrite far away, error at write or at close
        fd = os.open(self.p('g', 'fixed'), os.O_WRONLY)
        failed = None
        try:
            os.pwrite(fd, b'Z', 1 << 62)
        except OSError as e:
            failed = e.errno
        try:
            os.close(fd)
        except OSError as e:
            failed = failed or e.errno
        self.assertIn(failed, (errno.EFBIG, errno.EINVAL))
        self.assert_unchanged(before)

    def test_huge_offset_resizable(self):
        # Growing a resizable dataset to 1 TiB by one far write is a huge
        # offset too: an error, not a 1 TiB dataset.
        self.H5DUMP_ARGS = ('-H',)
        self.mount(errors=True)
        before = self.snapshot()
        self.assert_fails(self.dd_far(('g', 'grow'), 'conv=notrunc'),
                          errno.EFBIG, errno.EINVAL)
        self.assert_unchanged(before)

    def test_huge_offset_new_file(self):
        self.H5DUMP_ARGS = ('-H',)
        self.mount(errors=True)
        size = os.stat(self.h5path).st_size
        self.assert_fails(self.dd_far(('h', 'far')), errno.EFBIG,
                          errno.EINVAL, errno.ENOSPC)
        self.assertLess(os.stat(self.h5path).st_size, size + (16 << 20))
        with self.h5() as f:
            far = f['h'].get('far')
            self.assertTrue(far is None or far.size == 0,
                            'h/far: %r' % far)
        if os.path.exists(self.p('h', 'far')):
            self.assertEqual(os.stat(self.p('h', 'far')).st_size, 0)

    def check_new_npy_refused(self, name, data, also_raw=False):
        """cp of data to a new name fails with EINVAL (or, also_raw,
        makes a raw |u1 dataset of data); nothing half-made."""
        result = self.run_tool('cp', self.src(name, data), self.p('h', name))
        with self.h5() as f:
            ds = f['h'].get(name)
            if also_raw and result.returncode == 0:
                self.assertEqual((ds.dtype, ds[()].tobytes()),
                                 (np.dtype('u1'), data))
                return
            self.assert_fails(result, errno.EINVAL)
            self.assertTrue(ds is None or ds.size == 0,
                            'half-made h/%s: %r' % (name, ds))

    def test_bad_npy(self):
        self.mount(errors=True)
        good = io.BytesIO()
        np.save(good, np.arange(10, dtype='<i8'))
        good = good.getvalue()
        # the data is shorter than the header says
        self.check_new_npy_refused('short.npy', good[:-40])
        # longer
        self.check_new_npy_refused('long.npy', good + b'\0' * 8)
        # a header that is not a dict literal
        header = b"{'descr': 'nonsense', 'fortran_order': False, " \
                 b"'shape': (3,), }"
        header += b' ' * (-(10 + len(header) + 1) % 64) + b'\n'
        bad = b'\x93NUMPY\x01\x00' + len(header).to_bytes(2, 'little') + \
            header + b'\0' * 24
        self.check_new_npy_refused('badtype.npy', bad, also_raw=True)
        self.check_new_npy_refused('garbage.npy',
                                   b'\x93NUMPY\x01\x00\xff\x00garbage',
                                   also_raw=True)
        # object arrays (pickles) have no byte form
        objects = io.BytesIO()
        np.save(objects, np.array([{'a': 1}, None], dtype=object),
                allow_pickle=True)
        self.check_new_npy_refused('objects.npy', objects.getvalue(),
                                   also_raw=True)
        with self.h5() as f:
            self.assertEqual(f['g/fixed'][()].tolist(), FIXED.tolist())

    def test_a_dataset_without_a_byte_form_cannot_be_opened(self):
        # Variable-length sequences and references show size 0; an open that
        # succeeded would read nothing, and `cp` would copy them empty.
        path = os.path.join(self.tmp, 'nobytes.h5')

        def build(f):
            seq = f.create_dataset('seq', (2,), dtype=h5py.vlen_dtype('<i4'))
            seq[0], seq[1] = np.arange(3), np.arange(5)
            f.create_dataset('refs', data=[seq.ref], dtype=h5py.ref_dtype)
        self.make_file(build, path=path)
        for args in ([], ['--no-cache']):
            mnt = self.mount(args, name='nobytes%d' % len(args),
                             h5path=path).mountpoint
            for name in ('seq', 'refs'):
                with self.subTest(args=args, name=name):
                    self.assertEqual(os.stat(os.path.join(mnt, name)).st_size, 0)
                    self.assert_errno(lambda: open(os.path.join(mnt, name),
                                                   'rb').close(),
                                      errno.EOPNOTSUPP)
                    self.assert_fails(self.run_tool(
                        'cp', os.path.join(mnt, name),
                        os.path.join(self.tmp, 'copy')), errno.EOPNOTSUPP)

    def check_refused_with_warning(self, mount, call, reason):
        """call() fails with EINVAL (not EIO) and the daemon logs a warning
        naming the reason."""
        self.assert_errno(call, errno.EINVAL)
        warnings = wh.warning_lines(mount)
        self.assertTrue(warnings and reason in warnings[-1],
                        'last warning %r does not say %r' % (
                            warnings[-1:], reason))

    def test_what_hdf5_refuses_is_einval(self):
        # Input HDF5 cannot store gets EINVAL and a warning, never the EIO
        # (and error line) of a library call that failed; the mount is not
        # started with errors=True, so an error line fails the test.
        mount = self.mount()
        empty = self.p('h', 'empty')
        self.assert_ok(self.run_tool('touch', empty))
        before = self.snapshot()
        ones = ','.join(['1'] * 32)
        many_fields = '[' + ', '.join("('f%d', '|u1')" % i
                                      for i in range(3000)) + ']'
        for path, name, value, reason in (
                (self.p('g', 'fixed'), 'user.h5.shape', ones + ',12',
                 '33 dimensions'),
                (empty, 'user.h5.shape', '0,9223372036854775808',
                 'extent 9223372036854775808'),
                (empty, 'user.h5.shape', '18446744073709551614,0',
                 'extent 18446744073709551614'),
                (empty, 'user.h5.dtype', many_fields,
                 'description of its type'),
                (empty, 'user.h5.dtype', '<M8[' + '9' * 300 + 'ns]',
                 'datetime unit')):
            with self.subTest(name=name, value=value[:40]):
                self.check_refused_with_warning(
                    mount, lambda: os.setxattr(path, name, value.encode()),
                    reason)
        self.assert_unchanged(before)

        def npy(descr, shape):
            header = ("{'descr': %s, 'fortran_order': False, 'shape': %s, }"
                      % (descr, shape)).encode('latin1')
            header += b' ' * (-(10 + len(header) + 1) % 64) + b'\n'
            return b'\x93NUMPY\x01\x00' + \
                len(header).to_bytes(2, 'little') + header

        def write_new(path, content):
            err = self.write_fd(path, content,
                                os.O_WRONLY | os.O_CREAT | os.O_TRUNC)
            if err:
                raise OSError(err, os.strerror(err), path)

        for name, content, reason in (
                ('rank33.npy', npy("'|u1'", '(' + '1, ' * 33 + ')') + b'\1',
                 '33 dimensions'),
                ('wide.npy', npy("'|u1'", '(0, 9223372036854775808)'),
                 'extent 9223372036854775808'),
                ('fields.npy', npy(many_fields, '(0,)'),
                 'description of its type')):
            with self.subTest(name=name):
                path = self.p('h', name)
                self.check_refused_with_warning(
                    mount, lambda: write_new(path, content), reason)
                with self.h5() as f:
                    ds = f['h'].get(name)
                    self.assertTrue(ds is None or ds.size == 0,
                                    'half-made h/%s: %r' % (name, ds))


if __name__ == '__main__':
    wh.main()
