#!/usr/bin/python3
"""Writing extended attributes (SPEC.md sections 4 and 5): setfattr of
user.NAME writes the HDF5 attribute NAME (an existing numeric attribute
keeps its type when the value parses to the same count, else a vlen UTF-8
string), setfattr -x deletes it, other namespaces are refused; setfattr of
user.h5.dtype / user.h5.shape reinterprets the same bytes (sizes must
agree, else EINVAL), and on an empty dataset sets the type of the data to
come."""

import errno
import os

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
    g.attrs['fixedstr'] = np.bytes_(b'abc')
    g.attrs['num2str'] = np.int64(1)
    d = f.create_group('d')
    d.create_dataset('u1', data=np.frombuffer(bytes(range(1, 13)), 'u1'))
    d.create_dataset('m', data=np.arange(12, dtype='<i4').reshape(4, 3))
    d.create_dataset('r', data=np.arange(16, dtype='u1'), maxshape=(None,),
                     chunks=(8,))
    d['m'].attrs['units'] = 'm/s'


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
        self.assert_ok(self.setfattr(self.mnt, 'user.rootattr',
                                     '-9223372036854775808'))
        self.assertEqual(os.getxattr(g, 'user.count'), b'42')
        self.assertEqual(os.getxattr(g, 'user.ivec'), b'4,5,6')
        with self.h5() as f:
            a = f['g'].attrs
            cases = {'count': ('<i8', 42), 'n32': ('<i4', -123456),
                     'vec': ('<f8', [1.5, 2.0, 3.0]),
                     'ivec': ('<i2', [4, 5, 6]),
                     'ratio': ('<f4', np.float32('1e-3'))}
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
        with self.h5() as f:
            a = f['g'].attrs
            for name, value in (('num2str', 'not a number'),
                                ('fixedstr', 'hello world'),
                                ('vec', '1,2')):
                with self.subTest(name):
                    self.assertEqual(a[name], value)
                    self.assertTrue(is_vlen_utf8(a, name))

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
