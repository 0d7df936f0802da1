#!/usr/bin/python3
"""Changing the tree (SPEC.md section 5): mkdir/rmdir make and delete
groups, rm deletes a link, mv moves and renames (onto an existing name it
replaces it), ln -s and ln make soft and hard links, touch makes an empty
dataset, chmod/chown/utimes are accepted and ignored, and cp -a and
rsync -a copy a tree of small files in."""

import ctypes
import errno
import os
import shutil

import h5py
import numpy as np

import expect
import write_harness as wh

A = np.arange(10, dtype='<i4')
B = np.arange(6, dtype='<f8').reshape(2, 3)


def build(f):
    g = f.create_group('g')
    g.create_dataset('a', data=A)
    g.create_dataset('b', data=B)
    g.attrs['title'] = 'group g'
    sub = g.create_group('sub')
    sub.create_dataset('c', data=np.arange(3, dtype='u1'))
    f.create_group('h')
    f.create_group('empty')


class Tree(wh.WriteTestCase):

    def setUp(self):
        super().setUp()
        self.make_file(build)

    def test_mkdir_rmdir(self):
        self.mount()
        self.assert_ok(self.run_tool('mkdir', self.p('new')))
        self.assert_ok(self.run_tool('mkdir', '-p', self.p('x', 'y', 'z')))
        self.assertTrue(os.path.isdir(self.p('x', 'y', 'z')))
        with self.h5() as f:
            self.assertIsInstance(f['new'], h5py.Group)
            self.assertIsInstance(f['x/y/z'], h5py.Group)
        self.assert_ok(self.run_tool('rmdir', self.p('empty')))
        self.assert_ok(self.run_tool('rmdir', '-p', 'x/y/z', cwd=self.mnt),
                       'rmdir -p')
        with self.h5() as f:
            self.assertNotIn('empty', f)
            self.assertNotIn('x', f)
            self.assertIn('new', f)
        self.assertNotIn('empty', os.listdir(self.mnt))

    def test_names_past_255_bytes_and_unknown_rename_flags_are_refused(self):
        # statfs says 255 (f_namemax): a longer name could not be copied out
        # to any other filesystem. renameat2's flags other than NOREPLACE
        # (EXCHANGE, WHITEOUT) are refused, not done as a plain rename.
        self.mount(errors=True)
        before = self.snapshot()
        self.assertEqual(os.statvfs(self.mnt).f_namemax, 255)
        long = 'n' * 256
        for make in (lambda p: os.mkdir(p), lambda p: open(p, 'wb').close(),
                     lambda p: os.symlink('g', p),
                     lambda p: os.link(self.p('g', 'a'), p),
                     lambda p: os.rename(self.p('g', 'b'), p)):
            self.assert_errno(lambda: make(self.p(long)), errno.ENAMETOOLONG)
        self.assert_unchanged(before)
        os.mkdir(self.p('n' * 255))
        libc = ctypes.CDLL(None, use_errno=True)
        for flag, to in ((2, self.p('g', 'b')),   # RENAME_EXCHANGE
                         (4, self.p('h', 'a'))):  # RENAME_WHITEOUT
            result = libc.renameat2(-100, self.p('g', 'a').encode(), -100,
                                    to.encode(), flag)
            self.assertEqual((result, ctypes.get_errno()), (-1, errno.EINVAL))
        self.assertFalse(os.path.exists(self.p('h', 'a')))
        self.assertEqual(self.read_in_process(self.p('g', 'a')), A.tobytes())
        self.assertEqual(self.read_in_process(self.p('g', 'b')), B.tobytes())

    def test_readlink_of_a_link_removed_elsewhere_is_enoent(self):
        # The kernel still knows the link's inode; another mount removed it.
        with h5py.File(self.h5path, 'r+') as f:
            f['g/ln'] = h5py.SoftLink('/g/a')
        self.mount()
        other = self.mount(name='other').mountpoint
        ln = self.p('g', 'ln')
        self.assertEqual(os.readlink(ln), '../g/a')
        fd = os.open(ln, os.O_PATH | os.O_NOFOLLOW)  # keeps the inode known
        try:
            os.unlink(os.path.join(other, 'g', 'ln'))
            self.assert_errno(lambda: os.readlink('', dir_fd=fd),
                              errno.ENOENT)
        finally:
            os.close(fd)

    def test_rmdir_not_empty(self):
        self.mount(errors=True)
        before = self.snapshot()
        self.assert_fails(self.run_tool('rmdir', self.p('g')),
                          errno.ENOTEMPTY)
        self.assert_fails(self.run_tool('rmdir', self.p('g', 'sub')),
                          errno.ENOTEMPTY)
        self.assert_unchanged(before)

    def test_rm_dataset(self):
        self.mount()
        self.assert_ok(self.run_tool('rm', self.p('g', 'a')))
        self.assertFalse(os.path.exists(self.p('g', 'a')))
        self.assertNotIn('a', os.listdir(self.p('g')))
        with self.h5() as f:
            self.assertNotIn('a', f['g'])
            self.assertEqual(f['g/b'][()].tolist(), B.tolist())
        # rm -r of a group with content
        self.assert_ok(self.run_tool('rm', '-r', self.p('g', 'sub')))
        with self.h5() as f:
            self.assertNotIn('sub', f['g'])

    def test_mv(self):
        self.mount()
        # rename within a group
        self.assert_ok(self.run_tool('mv', self.p('g', 'a'),
                                     self.p('g', 'a2')))
        # to another group
        self.assert_ok(self.run_tool('mv', self.p('g', 'a2'),
                                     self.p('h', 'a3')))
        # onto an existing dataset: replaced
        self.assert_ok(self.run_tool('mv', self.p('g', 'b'),
                                     self.p('g', 'sub', 'c')))
        # a directory with its content
        self.assert_ok(self.run_tool('mv', self.p('g', 'sub'),
                                     self.p('h', 'moved')))
        self.assertEqual(sorted(os.listdir(self.p('g'))), [])
        self.assertEqual(sorted(os.listdir(self.p('h'))), ['a3', 'moved'])
        self.assertEqual(self.cat(self.p('h', 'a3')), A.tobytes())
        self.assertEqual(self.cat(self.p('h', 'moved', 'c')), B.tobytes())
        with self.h5() as f:
            self.assertEqual(sorted(f['g']), [])
            self.assertEqual(sorted(f['h']), ['a3', 'moved'])
            self.assertEqual(f['h/a3'][()].tolist(), A.tolist())
            self.assertEqual(sorted(f['h/moved']), ['c'])
            self.assertEqual(f['h/moved/c'][()].tolist(), B.tolist())
            self.assertEqual(f['g'].attrs['title'], 'group g')

    def test_mv_replaces_in_one_step(self):
        # The old target is never missing: a reader through the mount sees
        # either the old or the new content while mv runs (rename(2) is
        # one operation under the exclusive lock).
        self.mount()
        self.assert_ok(self.run_tool('cp', self.src('new', b'N' * 40),
                                     self.p('g', 'tmp')))
        self.assert_ok(self.run_tool('mv', '-f', self.p('g', 'tmp'),
                                     self.p('g', 'a')))
        self.assertEqual(self.cat(self.p('g', 'a')), b'N' * 40)
        self.assertNotIn('tmp', os.listdir(self.p('g')))
        with self.h5() as f:
            self.assertEqual(f['g/a'][()].tobytes(), b'N' * 40)
            self.assertNotIn('tmp', f['g'])
        # rename(2) onto an empty group with a group
        os.rename(self.p('g', 'sub'), self.p('empty'))
        with self.h5() as f:
            self.assertEqual(sorted(f['empty']), ['c'])
            self.assertNotIn('sub', f['g'])

    def test_soft_links(self):
        self.mount()
        # same group
        self.assert_ok(self.run_tool('ln', '-s', 'a', self.p('g', 'la')))
        # another group, relative with ..
        self.assert_ok(self.run_tool('ln', '-s', '../g/b',
                                     self.p('h', 'lb')))
        self.assertEqual(os.readlink(self.p('g', 'la')), 'a')
        self.assertEqual(os.readlink(self.p('h', 'lb')), '../g/b')
        self.assertEqual(self.cat(self.p('g', 'la')), A.tobytes())
        self.assertEqual(self.cat(self.p('h', 'lb')), B.tobytes())
        self.assertTrue(os.path.islink(self.p('h', 'lb')))
        with self.h5() as f:
            for name, target in (('g/la', '/g/a'), ('h/lb', '/g/b')):
                with self.subTest(name):
                    link = f.get(name, getlink=True)
                    self.assertIsInstance(link, h5py.SoftLink)
                    # h5py resolves it to the object the mount shows
                    self.assertEqual(expect.address(f[name]),
                                     expect.address(f[target]))
        # rm of a symlink removes the link only
        self.assert_ok(self.run_tool('rm', self.p('g', 'la')))
        with self.h5() as f:
            self.assertNotIn('la', f['g'])
            self.assertIn('a', f['g'])

    def test_hard_link(self):
        self.mount()
        self.assert_ok(self.run_tool('ln', self.p('g', 'a'),
                                     self.p('h', 'ha')))
        self.assertEqual(os.stat(self.p('g', 'a')).st_ino,
                         os.stat(self.p('h', 'ha')).st_ino)
        self.assertEqual(self.cat(self.p('h', 'ha')), A.tobytes())
        with self.h5() as f:
            self.assertIsInstance(f.get('h/ha', getlink=True),
                                  h5py.HardLink)
            self.assertEqual(expect.address(f['h/ha']),
                             expect.address(f['g/a']))
        # removing one name keeps the other
        self.assert_ok(self.run_tool('rm', self.p('g', 'a')))
        self.assertEqual(self.cat(self.p('h', 'ha')), A.tobytes())

    def test_touch_new_and_metadata_changes_ignored(self):
        self.mount()
        self.assert_ok(self.run_tool('touch', self.p('h', 'new')))
        with self.h5() as f:
            self.assertIsInstance(f['h/new'], h5py.Dataset)
            self.assertEqual(f['h/new'].size, 0)
        before = self.snapshot()
        for path in (self.p('g', 'a'), self.p('g'), self.p('h', 'new')):
            with self.subTest(path):
                mode = os.stat(path).st_mode
                self.assert_ok(self.run_tool('chmod', '600', path))
                self.assert_ok(self.run_tool('chown', '%d:%d' % (
                    os.getuid(), os.getgid()), path))
                self.assert_ok(self.run_tool('chown', '1:1', path))
                self.assert_ok(self.run_tool('touch', '-d',
                                             '2001-02-03 04:05:06', path))
                self.assert_ok(self.run_tool('touch', path))
                self.assertEqual(os.stat(path).st_mode, mode,
                                 'chmod is ignored')
        self.assert_unchanged(before)

    def make_tree(self):
        """A plain directory of small files, subdirectories, an empty file
        and a relative symlink; returns {relative path: bytes}."""
        root = os.path.join(self.tmp, 'tree')
        files = {'one.txt': b'first file\n', 'two.bin': bytes(range(256)),
                 'empty': b'', 'd1/three': b'3' * 1000,
                 'd1/d2/four': os.urandom(5000), 'd1/d2/d3/five': b'5\n',
                 'sp ace': b'space in the name'}
        for rel, data in files.items():
            path = os.path.join(root, rel)
            os.makedirs(os.path.dirname(path), exist_ok=True)
            with open(path, 'wb') as out:
                out.write(data)
        os.makedirs(os.path.join(root, 'emptydir'))
        os.symlink('d1/three', os.path.join(root, 'link'))
        return root, files

    def check_tree(self, h5group, files):
        with self.h5() as f:
            group = f[h5group]
            for rel, data in files.items():
                with self.subTest(rel):
                    ds = group[rel]
                    self.assertIsInstance(ds, h5py.Dataset)
                    self.assertEqual(ds[()].tobytes(), data)
            self.assertIsInstance(group['emptydir'], h5py.Group)
            link = group.get('link', getlink=True)
            self.assertIsInstance(link, h5py.SoftLink)
            self.assertEqual(group['link'][()].tobytes(), files['d1/three'])

    def test_cp_a_tree(self):
        self.mount()
        root, files = self.make_tree()
        self.assert_ok(self.run_tool('cp', '-a', root, self.p('copied')))
        self.assertEqual(os.readlink(self.p('copied', 'link')), 'd1/three')
        self.check_tree('copied', files)
        # again, over the existing copy
        self.assert_ok(self.run_tool('cp', '-a', root + '/.',
                                     self.p('copied')))
        self.check_tree('copied', files)

    def test_rsync_a_tree(self):
        self.mount()
        root, files = self.make_tree()
        self.assert_ok(self.run_tool('rsync', '-a', root + '/',
                                     self.p('synced') + '/'))
        self.check_tree('synced', files)
        # change a file and add one; rsync writes a temp file and renames
        files['one.txt'] = b'first file, changed\n'
        files['d1/new'] = b'new one'
        for rel in ('one.txt', 'd1/new'):
            with open(os.path.join(root, rel), 'wb') as out:
                out.write(files[rel])
        os.utime(os.path.join(root, 'one.txt'), (1, 1))
        self.assert_ok(self.run_tool('rsync', '-a', root + '/',
                                     self.p('synced') + '/'))
        self.check_tree('synced', files)
        with self.h5() as f:
            self.assertEqual([n for n in f['synced'] if n.startswith('.')],
                             [], 'rsync temp files left')
        shutil.rmtree(root)


if __name__ == '__main__':
    wh.main()
