#!/usr/bin/python3
"""The tree (SPEC.md section 2): ls -lR and find run clean and list every
link, groups are directories, datasets regular files, soft and external
links symlinks, hard links share an inode, modes and owner, statfs; the
same with -o ro; and the README's sample file (tools/make_sample.py)."""

import errno
import os
import stat
import subprocess

import harness
import expect

KIND_OF_MODE = {stat.S_IFDIR: 'group', stat.S_IFREG: 'dataset',
                stat.S_IFLNK: 'link'}


# The zoo's own modification time, set after it is written, so that it
# differs from the times HDF5 tracks inside it.
FILE_TIME = 1000000000


class Tree(harness.MountedTestCase):
    DIR_MODE = 0o755
    FILE_MODE = 0o644

    @classmethod
    def make_file(cls, path):
        super().make_file(path)
        os.utime(path, (FILE_TIME, FILE_TIME))

    def relative(self, entry):
        return entry.path.lstrip('/')

    def test_find_lists_every_link(self):
        result = harness.run(['find', '.'], cwd=self.mnt)
        self.assertEqual((result.returncode, result.stderr), (0, ''))
        got = sorted(result.stdout.decode('utf-8').splitlines())
        want = sorted(['.'] + ['./' + self.relative(e)
                               for e in self.entries[1:]])
        self.assertEqual(got, want)

    def test_ls_lR_runs_clean(self):
        result = harness.run(['ls', '-lR', self.mnt])
        self.assertEqual((result.returncode, result.stderr), (0, ''))
        result = harness.run(['ls', '-laR', '--color=never', self.mnt])
        self.assertEqual((result.returncode, result.stderr), (0, ''))

    def test_directory_listings(self):
        for entry in self.of_kind('group'):
            with self.subTest(entry.path):
                self.assertEqual(sorted(os.listdir(self.path(entry.path))),
                                 sorted(entry.obj.keys()))

    def test_types_modes_owner(self):
        for entry in self.entries:
            with self.subTest(entry.path):
                st = os.lstat(self.path(entry.path))
                kind = KIND_OF_MODE.get(stat.S_IFMT(st.st_mode))
                if entry.kind in ('group', 'dataset'):
                    self.assertEqual(kind, entry.kind)
                    want = self.DIR_MODE if kind == 'group' \
                        else self.FILE_MODE
                    self.assertEqual(oct(stat.S_IMODE(st.st_mode)),
                                     oct(want))
                elif entry.kind in ('soft', 'external'):
                    self.assertEqual(kind, 'link')
                else:  # named datatype: listed, read-only
                    self.assertEqual(st.st_mode & 0o222, 0,
                                     oct(st.st_mode))
                self.assertEqual((st.st_uid, st.st_gid),
                                 (os.getuid(), os.getgid()))

    def test_times(self):
        # An object's HDF5 modification time where the file tracks it,
        # else the file's own (whole seconds: HDF5 keeps no more).
        if harness.SELFTEST:
            self.skipTest('no times of its own in self-test mode')
        file_time = int(os.stat(self.h5path).st_mtime)
        tracked = 0
        for entry in self.of_kind('group', 'dataset'):
            with self.subTest(entry.path):
                want = expect.tracked_mtime(self.h5path, entry.path)
                tracked += want is not None
                got = int(os.stat(self.path(entry.path)).st_mtime)
                self.assertEqual(got, file_time if want is None else want)
        self.assertGreater(tracked, 0, 'the zoo tracks no time')

    def test_hard_links_share_inode(self):
        by_address = {}
        for entry in self.of_kind('group', 'dataset', 'datatype'):
            by_address.setdefault(expect.address(entry.obj), []).append(
                entry.path)
        inode_of = {}
        for address, paths in by_address.items():
            with self.subTest(paths=paths):
                inodes = {os.lstat(self.path(p)).st_ino for p in paths}
                again = {os.lstat(self.path(p)).st_ino for p in paths}
                self.assertEqual(len(inodes), 1,
                                 'hard links to one object: %s' % inodes)
                self.assertEqual(inodes, again, 'inode not stable')
                inode_of[address] = inodes.pop()
        self.assertEqual(len(set(inode_of.values())), len(inode_of),
                         'different objects share an inode')
        # stat(1) sees the same, as the issue asks.
        result = harness.run(['stat', '-c', '%i', self.path('/shapes/d1'),
                              self.path('/links/hard')])
        self.assertEqual(result.returncode, 0, result.stderr)
        first, second = result.stdout.split()
        self.assertEqual(first, second)

    def test_soft_links(self):
        for entry in self.of_kind('soft'):
            with self.subTest(entry.path):
                path = self.path(entry.path)
                text = os.readlink(path)
                if entry.target.startswith('/'):
                    self.assertFalse(text.startswith('/'), text)
                    resolved = os.path.normpath(
                        os.path.join(os.path.dirname(path), text))
                    self.assertEqual(resolved, os.path.normpath(
                        self.path(entry.target)))
                else:
                    self.assertEqual(text, entry.target)
                if self.h5.get(entry.path) is None:  # dangling
                    self.assertFalse(os.path.exists(path))
                    continue
                h5_target = entry.target if entry.target.startswith('/') \
                    else os.path.dirname(entry.path) + '/' + entry.target
                self.assertEqual(os.path.realpath(path),
                                 os.path.realpath(self.path(h5_target)))

    def test_cat_through_soft_links(self):
        for entry in self.of_kind('soft'):
            target = self.h5.get(entry.path)
            if target is None or not hasattr(target, 'dtype'):
                continue
            with self.subTest(entry.path):
                result = harness.run(['cat', self.path(entry.path)])
                self.assertEqual((result.returncode, result.stderr), (0, ''))
                want = expect.dataset_bytes(target)
                self.assertEqual(result.stdout, want,
                                 harness.describe_bytes_difference(
                                     want, result.stdout))
        listing = os.listdir(self.path('/links/soft_abs_group'))
        self.assertEqual(sorted(listing), sorted(self.h5['storage'].keys()))

    def test_external_link(self):
        for entry in self.of_kind('external'):
            with self.subTest(entry.path):
                result = harness.run(['readlink', self.path(entry.path)])
                self.assertEqual((result.returncode, result.stderr), (0, ''))
                self.assertEqual(result.stdout.decode().rstrip('\n'),
                                 '%s::%s' % entry.target)

    def test_named_datatype_is_listed(self):
        entries = self.of_kind('datatype')
        self.assertTrue(entries)
        for entry in entries:
            with self.subTest(entry.path):
                self.assertIn(os.path.basename(entry.path),
                              os.listdir(os.path.dirname(
                                  self.path(entry.path))))
                result = harness.run(['stat', self.path(entry.path)])
                self.assertEqual((result.returncode, result.stderr), (0, ''))

    def test_utf8_and_space_names(self):
        path = self.path('/with space/sous groupe ✓/x y')
        self.assertTrue(os.path.isfile(path))
        self.assertIn('données température',
                      os.listdir(self.path('/with space')))

    def test_missing_name(self):
        for name in ['/nope', '/types/nope', '/types/i4/below_a_file']:
            with self.subTest(name):
                with self.assertRaises(OSError) as caught:
                    os.stat(self.path(name))
                self.assertIn(caught.exception.errno,
                              (errno.ENOENT, errno.ENOTDIR))

    def test_statfs_is_the_files_filesystem(self):
        if harness.SELFTEST:
            self.skipTest('no statfs of its own in self-test mode')
        mounted = os.statvfs(self.mnt)
        host = os.statvfs(os.path.dirname(self.h5path))
        self.assertEqual(mounted.f_blocks * mounted.f_frsize,
                         host.f_blocks * host.f_frsize)
        result = harness.run(['df', self.mnt])
        self.assertEqual((result.returncode, result.stderr), (0, ''))


class ReadOnlyTree(Tree):
    MOUNT_ARGS = ('-o', 'ro')
    DIR_MODE = 0o555
    FILE_MODE = 0o444

    def test_writes_fail_with_erofs(self):
        if harness.SELFTEST:
            self.skipTest('no read-only mount in self-test mode')
        for action in [lambda: open(self.path('/shapes/d1'), 'r+b'),
                       lambda: open(self.path('/new'), 'wb'),
                       lambda: os.mkdir(self.path('/newdir'))]:
            with self.assertRaises(OSError) as caught:
                action()
            self.assertEqual(caught.exception.errno, errno.EROFS)


class SampleFile(harness.MountedTestCase):
    """The quick start's file mounts and reads."""

    @classmethod
    def make_file(cls, path):
        subprocess.run([harness.PYTHON, os.path.join(
            harness.SOURCE_ROOT, 'tools', 'make_sample.py'), path],
            check=True)

    def test_cat_every_dataset(self):
        datasets = self.of_kind('dataset')
        self.assertIn('/run1/temps', [e.path for e in datasets])
        for entry in datasets:
            with self.subTest(entry.path):
                result = harness.run(['cat', self.path(entry.path)])
                self.assertEqual((result.returncode, result.stderr), (0, ''))
                self.assertEqual(result.stdout,
                                 expect.dataset_bytes(entry.obj))

    def test_ls_lR_runs_clean(self):
        result = harness.run(['ls', '-lR', self.mnt])
        self.assertEqual((result.returncode, result.stderr), (0, ''))


if __name__ == '__main__':
    harness.main()
