#!/usr/bin/python3
"""Writing extended attributes (SPEC.md sections 4 and 5): setfattr of
user.NAME writes the HDF5 attribute NAME (an existing numeric attribute
keeps its type when the value parses to the same count, else text becomes
a vlen UTF-8 string and other bytes an opaque that reads back byte for
byte), setfattr -x deletes it, other namespaces are refused; setfattr of
user.h5.dtype / user.h5.shape reinterprets the same bytes (sizes must
agree, else EINVAL), and on an empty dataset sets the type of the data to
come."""

import errno
import os
import random
import time

import h5py
import numpy as np

import write_harness as wh


def build(f):
    f.attrs['rootattr'] = 1
    g = f.create_group('g')
    g.attrs['count'] = np.int64(7)
    g.attrs['n32'] = np.int32(-5)
    g.attrs['vec'] = np.array([0.5, 1.0, 2.0])
    g.attrs['ivec'] = np.array([1, 2, 3], dtype='<i2')
    g.attrs['ratio'] = np.float32(0.25)
    g.attrs['half'] = np.float16(1.5)
    g.attrs['tiny'] = np.float16(1.5)
    g.attrs['fixedstr'] = np.bytes_(b'abc')
    g.attrs['num2str'] = np.int64(1)
    d = f.create_group('d')
    d.create_dataset('u1', data=np.frombuffer(bytes(range(1, 13)), 'u1'))
    d.create_dataset('m', data=np.arange(12, dtype='<i4').reshape(4, 3))
    d.create_dataset('r', data=np.arange(16, dtype='u1'), maxshape=(None,),
                     chunks=(8,))
    d['m'].attrs['units'] = 'm/s'


def build_v2(f):
    """A group whose version 2 object header (creation order tracked) keeps
    large attributes in dense storage."""
    f.create_group('v2', track_order=True)


def is_text(value):
    """What the mount stores as a string: UTF-8 without NUL."""
    try:
        value.decode('utf-8')
    except UnicodeDecodeError:
        return False
    return b'\0' not in value


def h5py_bytes(attrs, name):
    """The bytes h5py reads of an attribute: a str's UTF-8, an opaque's
    bytes."""
    value = attrs[name]
    if isinstance(value, str):
        return value.encode('utf-8')
    if isinstance(value, np.void) and value.dtype.names is None:
        return value.tobytes()
    raise AssertionError('attribute %s reads as %r' % (name, value))


def binary_values():
    """Values of 0 to 4096 bytes, many not text: NULs alone, inside and
    trailing, invalid UTF-8, random bytes (the same on every run)."""
    rng = random.Random(6)
    values = [b'', b'\0', b'\0\0', b'\x01\0\0\0', b'abc\0', b'\0abc',
              b'a\0b', b'\xff', b'\xff\xfe', b'caf\xc3', b'\xc3\xa9\0',
              b'\xed\xa0\x80', b'text', b'\0' * 4096, b'\x01' + b'\0' * 4095]
    for length in list(range(1, 9)) + [255, 256, 1023, 4095, 4096] + \
            [rng.randrange(1, 4097) for _ in range(30)]:
        data = bytes(rng.randrange(256) for _ in range(length))
        values.append(data)
        nuls = rng.randrange(1, min(length, 8) + 1)
        values.append(data[:-nuls] + b'\0' * nuls)
    return values


def is_vlen_utf8(attrs, name):
    info = h5py.check_string_dtype(attrs.get_id(name).dtype)
    return info is not None and info.length is None and \
        info.encoding == 'utf-8'


class Xattrs(wh.WriteTestCase):

    def setUp(self):
        super().setUp()
        self.make_file(build)

    def setfattr(self, path, name, value=None, remove=False):
        if remove:
            return self.run_tool('setfattr', '-x', name, path)
        return self.run_tool('setfattr', '-n', name, '-v', value, path)

    # -- user.NAME ------------------------------------------------------------

    def test_new_string_attributes(self):
        self.mount()
        cases = [(self.p('g'), 'g', 'user.note', 'hello', 'note'),
                 (self.mnt, '/', 'user.rootnote', 'at the root', 'rootnote'),
                 (self.p('d', 'm'), 'd/m', 'user.desc', 'h\u00e9llo w\u00f6rld',
                  'desc'),
                 (self.p('g'), 'g', 'user.my note', 'spaced', 'my note'),
                 (self.p('g'), 'g', 'user.long', 'x' * 10000, 'long')]
        for path, _, xname, value, _ in cases:
            self.assert_ok(self.setfattr(path, xname, value))
            self.assertEqual(os.getxattr(path, xname), value.encode())
            self.assertIn(xname, os.listxattr(path))
        with self.h5() as f:
            for _, h5path, _, value, name in cases:
                with self.subTest(name):
                    attrs = f[h5path].attrs
                    self.assertEqual(attrs[name], value)
                    self.assertTrue(is_vlen_utf8(attrs, name),
                                    attrs.get_id(name).dtype)
            self.assertEqual(f['d/m'].attrs['units'], 'm/s')

    def test_numeric_attribute_keeps_type(self):
        self.mount()
        g = self.p('g')
        self.assert_ok(self.setfattr(g, 'user.count', '42'))
        self.assert_ok(self.setfattr(g, 'user.n32', '-123456'))
        self.assert_ok(self.setfattr(g, 'user.vec', '1.5,2,3'))
        self.assert_ok(self.setfattr(g, 'user.ivec', '4,5,6'))
        self.assert_ok(self.setfattr(g, 'user.ratio', '1e-3'))
        self.assert_ok(self.setfattr(g, 'user.half', '-65504'))  # float16's least
        self.assert_ok(self.setfattr(self.mnt, 'user.rootattr',
                                     '-9223372036854775808'))
        self.assertEqual(os.getxattr(g, 'user.count'), b'42')
        self.assertEqual(os.getxattr(g, 'user.ivec'), b'4,5,6')
        with self.h5() as f:
            a = f['g'].attrs
            cases = {'count': ('<i8', 42), 'n32': ('<i4', -123456),
                     'vec': ('<f8', [1.5, 2.0, 3.0]),
                     'ivec': ('<i2', [4, 5, 6]),
                     'ratio': ('<f4', np.float32('1e-3')),
                     'half': ('<f2', np.float16(-65504))}
            for name, (dtype, value) in cases.items():
                with self.subTest(name):
                    self.assertEqual(a.get_id(name).dtype, np.dtype(dtype))
                    self.assertEqual(np.asarray(a[name]).tolist(),
                                     np.asarray(value, dtype).tolist())
                    self.assertEqual(np.shape(a[name]), np.shape(value))
            self.assertEqual(f.attrs.get_id('rootattr').dtype.kind, 'i')
            self.assertEqual(int(f.attrs['rootattr']), -2**63)

    def test_other_values_become_strings(self):
        self.mount()
        g = self.p('g')
        self.assert_ok(self.setfattr(g, 'user.num2str', 'not a number'))
        self.assert_ok(self.setfattr(g, 'user.fixedstr', 'hello world'))
        self.assert_ok(self.setfattr(g, 'user.vec', '1,2'))  # count differs
        # numbers out of the type's range: no float32 reads back as them
        self.assert_ok(self.setfattr(g, 'user.ratio', '1e39'))
        self.assert_ok(self.setfattr(g, 'user.ivec', '1,70000,3'))  # <i2
        self.assert_ok(self.setfattr(g, 'user.half', '70000'))  # float16
        self.assert_ok(self.setfattr(g, 'user.tiny', '1e-9'))
        self.assertEqual(os.getxattr(g, 'user.ratio'), b'1e39')
        with self.h5() as f:
            a = f['g'].attrs
            for name, value in (('num2str', 'not a number'),
                                ('fixedstr', 'hello world'),
                                ('vec', '1,2'), ('ratio', '1e39'),
                                ('ivec', '1,70000,3'), ('half', '70000'),
                                ('tiny', '1e-9')):
                with self.subTest(name):
                    self.assertEqual(a[name], value)
                    self.assertTrue(is_vlen_utf8(a, name))

    def test_binary_values_read_back_byte_for_byte(self):
        # setfattr -v 0x01000000 once read back as 0x01: a value that is
        # not text must come back whole, through the mount and in h5py.
        self.mount()
        targets = [(self.p('g'), 'g'), (self.p('d', 'm'), 'd/m')]
        values = binary_values()
        for i, value in enumerate(values):
            path, _ = targets[i % 2]
            os.setxattr(path, 'user.b%d' % i, value)
            self.assertEqual(os.getxattr(path, 'user.b%d' % i), value,
                             'value %d' % i)
        # replacing: text by bytes, bytes by bytes, bytes by text
        m = self.p('d', 'm')
        for value in (b'\x01\0\0\0', b'\0', b'm/s\0', b'm/s'):
            os.setxattr(m, 'user.units', value)
            self.assertEqual(os.getxattr(m, 'user.units'), value)
        self.assert_ok(self.setfattr(self.p('g'), 'user.blob', '0x01000000'))
        got = self.run_tool('getfattr', '--absolute-names', '--only-values',
                            '-n', 'user.blob', self.p('g'))
        self.assert_ok(got)
        self.assertEqual(got.stdout, b'\x01\0\0\0')
        with self.h5() as f:
            for i, value in enumerate(values):
                attrs = f[targets[i % 2][1]].attrs
                name = 'b%d' % i
                with self.subTest(value=i):
                    self.assertEqual(h5py_bytes(attrs, name), value)
                    if is_text(value):
                        self.assertTrue(is_vlen_utf8(attrs, name))
                    else:
                        self.assertEqual(attrs.get_id(name).dtype,
                                         np.dtype('|V%d' % len(value)))
                        self.assertEqual(attrs.get_id(name).shape, ())
            self.assertEqual(f['d/m'].attrs['units'], 'm/s')
            self.assertEqual(h5py_bytes(f['g'].attrs, 'blob'),
                             b'\x01\0\0\0')

    def test_binary_value_too_large_for_the_header(self):
        # A version 1 object header (h5py's default) keeps an attribute in
        # one message under 64 KiB: a larger binary value is EINVAL with a
        # warning, not EIO, and changes nothing. Text of that size is
        # fine, and so is binary in a version 2 header.
        self.make_file(build_v2, path=os.path.join(self.tmp, 'v2.h5'))
        mount = self.mount()
        v2_mount = self.mount(name='v2mnt', h5path=os.path.join(self.tmp,
                                                               'v2.h5'))
        g = self.p('g')
        big = b'\0' + bytes(random.Random(7).randrange(256)
                            for _ in range(65535))
        before = self.snapshot()
        for name in ('user.big', 'user.count', 'user.fixedstr'):
            with self.subTest(name=name):
                self.assert_errno(lambda: os.setxattr(g, name, big),
                                  errno.EINVAL)
                self.assertIn('a binary value of 65536 bytes does not fit',
                              wh.warning_lines(mount)[-1])
        self.assert_unchanged(before)
        fits = big[:60000]
        os.setxattr(g, 'user.fits', fits)
        self.assertEqual(os.getxattr(g, 'user.fits'), fits)
        text = b'x' * 65536
        os.setxattr(g, 'user.text', text)
        self.assertEqual(os.getxattr(g, 'user.text'), text)
        v2 = os.path.join(self.tmp, 'v2mnt', 'v2')
        os.setxattr(v2, 'user.big', big)
        self.assertEqual(os.getxattr(v2, 'user.big'), big)
        with self.h5() as f:
            self.assertEqual(h5py_bytes(f['g'].attrs, 'fits'), fits)
            self.assertEqual(f['g'].attrs['text'], text.decode())
        with self.h5(os.path.join(self.tmp, 'v2.h5')) as f:
            self.assertEqual(h5py_bytes(f['v2'].attrs, 'big'), big)
        self.assertEqual(wh.warning_lines(v2_mount), [])

    def test_remove(self):
        self.mount(errors=True)
        g = self.p('g')
        self.assert_ok(self.setfattr(g, 'user.note', 'hello'))
        self.assert_ok(self.setfattr(g, 'user.note', remove=True))
        self.assert_ok(self.setfattr(g, 'user.count', remove=True))
        self.assertNotIn('user.note', os.listxattr(g))
        self.assert_errno(lambda: os.getxattr(g, 'user.note'),
                          errno.ENODATA)
        self.assert_fails(self.run_tool('getfattr', '-n', 'user.count', g),
                          errno.ENODATA)
        with self.h5() as f:
            self.assertNotIn('note', f['g'].attrs)
            self.assertNotIn('count', f['g'].attrs)
            self.assertIn('n32', f['g'].attrs)
        before = self.snapshot()
        self.assert_fails(self.setfattr(g, 'user.missing', remove=True),
                          errno.ENODATA)
        self.assert_unchanged(before)

    def test_other_namespaces_refused(self):
        self.mount(errors=True)
        before = self.snapshot()
        for name in ('trusted.foo', 'security.foo', 'foo', 'user.'):
            for path in (self.p('g'), self.p('d', 'm')):
                with self.subTest(name=name, path=path):
                    result = self.setfattr(path, name, 'x')
                    self.assertNotEqual(result.returncode, 0, name)
        self.assert_unchanged(before)

    def test_answers_follow_another_mounts_changes(self):
        """A mount keeps what it answered for attributes until the file
        changes: values, names and the user.h5.* metadata that it gave once
        are given anew after another mount's setfattr, removal and dtype
        change."""
        self.mount(name='a')
        b = self.mount(name='b').mountpoint
        here, there = self.p('d', 'm'), os.path.join(b, 'd', 'm')
        for _ in range(2):  # the second time from what it kept
            self.assertNotIn('user.fresh', os.listxattr(here))
            dtype = os.getxattr(here, 'user.h5.dtype')
        self.assertEqual(self.setfattr(there, 'user.fresh', 'one').returncode, 0)
        self.assertEqual(os.getxattr(here, 'user.fresh'), b'one')
        self.assertIn('user.fresh', os.listxattr(here))
        self.assertEqual(self.setfattr(there, 'user.fresh', 'two').returncode, 0)
        self.assertEqual(os.getxattr(here, 'user.fresh'), b'two')
        self.assertEqual(self.setfattr(there, 'user.fresh', remove=True).returncode, 0)
        self.assertNotIn('user.fresh', os.listxattr(here))
        other = b'<i2' if dtype != b'<i2' else b'<u2'
        self.assertEqual(self.setfattr(there, 'user.h5.dtype',
                                       other.decode()).returncode, 0)
        self.assertEqual(os.getxattr(here, 'user.h5.dtype'), other)

    def test_other_namespaces_answered_without_the_lock(self):
        """security.*, system.* and trusted.* are never stored: asked of an
        open directory (no lookup first) while another process holds the
        lock exclusively, they are answered at once, not after the writer."""
        self.mount()
        fd = os.open(self.p('g'), os.O_RDONLY | os.O_DIRECTORY)
        try:
            with self.exclusive_hold():
                # ACLs: none; other namespaces: not supported (ls -l then
                # stops asking them of the mount's files).
                for name, want in (('security.selinux', errno.EOPNOTSUPP),
                                   ('system.posix_acl_access', errno.ENODATA),
                                   ('trusted.x', errno.EOPNOTSUPP)):
                    with self.subTest(name=name):
                        start = time.monotonic()
                        with self.assertRaises(OSError) as caught:
                            os.getxattr(fd, name)
                        took = time.monotonic() - start
                        self.assertEqual(caught.exception.errno, want)
                        self.assertLess(took, 1.0, '%s waited %.1fs for '
                                        'the lock' % (name, took))
        finally:
            os.close(fd)

    def test_metadata_xattrs_read_only(self):
        self.mount(errors=True)
        before = self.snapshot()
        m = self.p('d', 'm')
        for name, value in (('user.h5.maxshape', 'inf,3'),
                            ('user.h5.chunks', '2,3'),
                            ('user.h5.layout', 'chunked'),
                            ('user.h5.filters', 'deflate=4')):
            with self.subTest(name):
                self.assertNotEqual(self.setfattr(m, name, value).returncode,
                                    0)
        for name in ('user.h5.dtype', 'user.h5.shape'):
            with self.subTest(remove=name):
                self.assertNotEqual(self.setfattr(m, name,
                                                  remove=True).returncode, 0)
        self.assert_unchanged(before)

    # -- user.h5.dtype / user.h5.shape ------------------------------------------

    def check_array(self, h5path, want):
        with self.h5() as f:
            ds = f[h5path]
            self.assertEqual(ds.shape, want.shape)
            self.assertEqual(wh.native(ds.dtype), wh.native(want.dtype))
            self.assertEqual(ds[()].tolist(), want.tolist())
        mounted = self.p(h5path)
        self.assertEqual(self.cat(mounted), wh.native_bytes(want))
        self.assertEqual(self.xattr(mounted, 'user.h5.shape'),
                         ','.join(map(str, want.shape)))

    def test_dtype_reinterprets(self):
        self.mount()
        raw = bytes(range(1, 13))
        self.assert_ok(self.setfattr(self.p('d', 'u1'), 'user.h5.dtype',
                                     '<i4'))
        self.assertEqual(self.xattr(self.p('d', 'u1'), 'user.h5.dtype'),
                         '<i4')
        self.check_array('d/u1', np.frombuffer(raw, '<i4'))
        self.assert_ok(self.setfattr(self.p('d', 'u1'), 'user.h5.dtype',
                                     '|S4'))
        self.check_array('d/u1', np.frombuffer(raw, '|S4'))
        m = np.arange(12, dtype='<i4').reshape(4, 3)
        self.assert_ok(self.setfattr(self.p('d', 'm'), 'user.h5.dtype',
                                     '<f4'))
        self.check_array('d/m', m.view('<f4'))
        compound = "[('a', '<i4'), ('b', '<f4')]"
        r = np.arange(16, dtype='u1')
        self.assert_ok(self.setfattr(self.p('d', 'r'), 'user.h5.dtype',
                                     compound))
        self.check_array('d/r', r.view(np.dtype([('a', '<i4'),
                                                 ('b', '<f4')])))
        with self.h5() as f:
            self.assertEqual(f['d/m'].attrs['units'], 'm/s',
                             'attributes stay')

    def test_shape_reinterprets(self):
        self.mount()
        m = np.arange(12, dtype='<i4')
        for shape in ((3, 4), (2, 2, 3), (12,), (1, 12)):
            with self.subTest(shape=shape):
                self.assert_ok(self.setfattr(self.p('d', 'm'),
                                             'user.h5.shape',
                                             ','.join(map(str, shape))))
                self.check_array('d/m', m.reshape(shape))

    def test_no_new_type_or_shape_for_a_dataset_of_several_names(self):
        # It would make a new dataset under one name only (and the mount may
        # know the dataset by its other name): refused, both names kept.
        self.mount(errors=True)
        os.link(self.p('d', 'm'), self.p('d', 'm2'))
        before = self.snapshot()
        for name, value in (('user.h5.shape', '3,4'),
                            ('user.h5.dtype', '<f4')):
            for path in (('d', 'm'), ('d', 'm2')):
                with self.subTest(name=name, path=path):
                    self.assert_fails(self.setfattr(self.p(*path), name,
                                                    value), errno.EPERM)
                    self.assert_unchanged(before)
        os.unlink(self.p('d', 'm2'))
        self.assert_ok(self.setfattr(self.p('d', 'm'), 'user.h5.shape', '3,4'))
        self.check_array('d/m', np.arange(12, dtype='<i4').reshape(3, 4))

    def test_sizes_must_agree(self):
        self.mount(errors=True)
        before = self.snapshot()
        for path, name, value in (
                ('d/u1', 'user.h5.dtype', '<i8'),      # 12 bytes, 8 each
                ('d/u1', 'user.h5.dtype', '|S5'),
                ('d/m', 'user.h5.shape', '5,3'),
                ('d/m', 'user.h5.shape', '13'),
                ('d/m', 'user.h5.shape', ''),          # scalar: 1 element
                ('d/m', 'user.h5.shape', '0'),
                ('d/m', 'user.h5.shape', '4,-3'),
                ('d/m', 'user.h5.shape', 'a,b'),
                ('d/m', 'user.h5.shape', '+12'),       # 12 holds it: the sign is refused
                ('d/m', 'user.h5.shape', '0x313200'),  # setfattr's hex: '12' and a NUL
                ('d/m', 'user.h5.dtype', 'nonsense'),
                ('d/m', 'user.h5.dtype', '<i3')):
            with self.subTest(path=path, name=name, value=value):
                self.assert_fails(self.setfattr(self.p(path), name, value),
                                  errno.EINVAL)
                self.assert_unchanged(before)

    def test_empty_dataset_takes_type_of_data_to_come(self):
        self.mount(errors=True)
        path = self.p('d', 'empty')
        self.assert_ok(self.run_tool('touch', path))
        self.assert_ok(self.setfattr(path, 'user.h5.dtype', '<f8'))
        self.assertEqual(self.xattr(path, 'user.h5.dtype'), '<f8')
        want = np.array([1.5, -2, 3e100, 0, 5], '<f8')
        self.assert_ok(self.run_tool('cp', self.src('f8', want.tobytes()),
                                     path))
        self.check_array('d/empty', want)
        self.assertEqual(self.xattr(path, 'user.h5.dtype'), '<f8')
        # and a partial element of that type is refused
        before = self.snapshot()
        self.assert_fails(self.run_tool('cp', self.src('bad', b'x' * 12),
                                        path), errno.EINVAL)
        self.assert_unchanged(before)


if __name__ == '__main__':
    wh.main()
