#!/usr/bin/python3
"""Metadata as extended attributes (SPEC.md section 4): user.h5.* of every
dataset and user.NAME of every HDF5 attribute of groups, datasets and the
root, read with getxattr(2), listed with listxattr(2), and dumped with
getfattr -d -e hex."""

import ctypes
import errno
import os
import re

import harness
import expect

H5_NAMES = ('user.h5.dtype', 'user.h5.shape', 'user.h5.maxshape',
            'user.h5.chunks', 'user.h5.layout', 'user.h5.filters')


def parse_getfattr(text):
    """{name: value bytes} from `getfattr -d -e hex` output."""
    values = {}
    for line in text.splitlines():
        if not line or line.startswith('# file:'):
            continue
        name, sep, value = line.partition('=')
        name = re.sub(rb'\\([0-7]{3})', lambda m: bytes([int(m.group(1), 8)]),
                      name.encode('utf-8', 'surrogateescape'))
        name = name.decode('utf-8', 'surrogateescape')
        if not sep or value == '':
            values[name] = b''
        elif value.startswith('0x'):
            values[name] = bytes.fromhex(value[2:])
        else:
            raise ValueError('unexpected getfattr line: %r' % line)
    return values


def xattr_objects(test):
    """Entries whose xattrs are checked: groups and datasets, root too."""
    return test.of_kind('group', 'dataset')


class Xattrs(harness.MountedTestCase):

    def test_dataset_metadata(self):
        for entry in self.of_kind('dataset'):
            path = self.path(entry.path)
            for name, want in expect.dataset_xattrs(entry.obj).items():
                with self.subTest(path=entry.path, xattr=name):
                    got = os.getxattr(path, name).decode('utf-8')
                    if isinstance(want, str):
                        self.assertEqual(got, want)
                    else:
                        self.assertRegex(got, '^%s$' % want.pattern)

    def test_attributes(self):
        for entry in xattr_objects(self):
            path = self.path(entry.path)
            for name, check in expect.attribute_checks(entry.obj).items():
                with self.subTest(path=entry.path, xattr=name,
                                  attribute=check.describe()):
                    problem = check.check(os.getxattr(path, name))
                    if problem:
                        self.fail(problem)

    def test_listxattr(self):
        for entry in xattr_objects(self):
            with self.subTest(entry.path):
                names = os.listxattr(self.path(entry.path))
                self.assertEqual(len(names), len(set(names)),
                                 'duplicate names')
                attrs = sorted(n for n in names
                               if not n.startswith('user.h5.'))
                self.assertEqual(attrs, sorted(
                    expect.attribute_checks(entry.obj)))
                if entry.kind == 'dataset':
                    missing = set(H5_NAMES) - set(names)
                    self.assertFalse(missing, 'missing %s' % sorted(missing))

    def test_getfattr_dump_hex(self):
        for entry in xattr_objects(self):
            path = self.path(entry.path)
            with self.subTest(entry.path):
                result = harness.run(['getfattr', '-d', '-e', 'hex',
                                      '--absolute-names', path])
                self.assertEqual((result.returncode, result.stderr), (0, ''))
                dumped = parse_getfattr(result.stdout.decode('utf-8'))
                want = {name: os.getxattr(path, name)
                        for name in os.listxattr(path)}
                self.assertEqual(dumped, want)

    def test_getfattr_only_values(self):
        for h5path, name, want in [
                ('/shapes/d2', 'user.h5.shape', b'5,7'),
                ('/shapes/d4', 'user.h5.shape', b'2,3,5,7'),
                ('/shapes/scalar', 'user.h5.shape', b''),
                ('/storage/resizable', 'user.h5.maxshape', b'inf,7'),
                ('/storage/deflate_shuffle_fletcher', 'user.h5.filters',
                 b'shuffle,deflate=4,fletcher32'),
                ('/types/f8_be', 'user.h5.dtype', b'<f8'),
                ('/types/bool', 'user.h5.dtype', b'|b1'),
                ('/', 'user.str', 'héllo wörld'.encode()),
                ('/with space/données température', 'user.ünïcode ✓',
                 b'5')]:
            with self.subTest(path=h5path, xattr=name):
                result = harness.run(['getfattr', '--only-values',
                                      '--absolute-names', '-n', name,
                                      self.path(h5path)])
                self.assertEqual((result.returncode, result.stderr), (0, ''))
                self.assertEqual(result.stdout, want)

    def test_missing_xattr(self):
        for entry in [self.entries[0]] + self.of_kind('dataset')[:3]:
            with self.subTest(entry.path):
                with self.assertRaises(OSError) as caught:
                    os.getxattr(self.path(entry.path), 'user.no such thing')
                self.assertEqual(caught.exception.errno, errno.ENODATA)

    def test_size_query(self):
        # getxattr with a buffer too small gets ERANGE, not a cut value.
        libc = ctypes.CDLL(None, use_errno=True)
        path = self.path('/').encode()
        name = b'user.str'
        size = libc.getxattr(path, name, None, 0)
        self.assertEqual(size, len('héllo wörld'.encode()))
        buf = ctypes.create_string_buffer(size - 1)
        self.assertEqual(libc.getxattr(path, name, buf, size - 1), -1)
        self.assertEqual(ctypes.get_errno(), errno.ERANGE)


if __name__ == '__main__':
    harness.main()
