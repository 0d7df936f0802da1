#!/usr/bin/python3
"""Read-only (SPEC.md sections 1 and 5): with `-o ro` every change fails
with EROFS and the file stays as it was; a writable mount of a file the
daemon cannot write (here: on a read-only bind mount) exits 1 before
mounting with one line on stderr, while `-o ro` of it mounts."""

import errno
import os
import subprocess

import numpy as np

import harness
import write_harness as wh


def build(f):
    g = f.create_group('g')
    g.create_dataset('fixed', data=np.arange(12, dtype='<i4'))
    g.create_dataset('rows', data=np.arange(6, dtype='<i4').reshape(2, 3),
                     maxshape=(None, 3), chunks=(2, 3))
    g.attrs['note'] = 'old'
    f.create_group('empty')


class ReadOnly(wh.WriteTestCase):

    def setUp(self):
        super().setUp()
        self.make_file(build)

    def test_ro_mount_refuses_every_change(self):
        self.mount(args=['-o', 'ro'])
        before = self.snapshot()
        src = self.src('data', np.arange(12, dtype='<i4').tobytes())
        row = self.src('row', np.arange(3, dtype='<i4').tobytes())
        p = self.p
        changes = {
            'cp over': ['cp', src, p('g', 'fixed')],
            'cp new': ['cp', src, p('g', 'new')],
            'append': ['sh', '-c', 'cat "$1" >> "$2"', 'sh', row,
                       p('g', 'rows')],
            'dd notrunc': ['dd', 'if=' + row, 'of=' + p('g', 'fixed'),
                           'conv=notrunc', 'seek=1', 'status=none'],
            'truncate': ['truncate', '-s', '12', p('g', 'rows')],
            'touch new': ['touch', p('g', 'touched')],
            'mkdir': ['mkdir', p('newdir')],
            'rmdir': ['rmdir', p('empty')],
            'rm': ['rm', '-f', p('g', 'fixed')],
            'mv': ['mv', p('g', 'fixed'), p('g', 'moved')],
            'ln -s': ['ln', '-s', 'fixed', p('g', 'soft')],
            'ln': ['ln', p('g', 'fixed'), p('g', 'hard')],
            'setfattr': ['setfattr', '-n', 'user.note', '-v', 'new',
                         p('g')],
            'setfattr -x': ['setfattr', '-x', 'user.note', p('g')],
            'setfattr dtype': ['setfattr', '-n', 'user.h5.dtype', '-v',
                               '<f4', p('g', 'fixed')],
            'chmod': ['chmod', '600', p('g', 'fixed')],
            'touch -d': ['touch', '-d', '2001-01-01', p('g', 'fixed')],
        }
        for what, args in changes.items():
            with self.subTest(what):
                self.assert_fails(self.run_tool(*args), errno.EROFS,
                                  what=what)
        self.assert_errno(lambda: os.open(p('g', 'fixed'), os.O_WRONLY),
                          errno.EROFS)
        self.assert_errno(lambda: os.open(p('g', 'fixed'), os.O_RDWR),
                          errno.EROFS)
        self.assert_unchanged(before)
        self.assertEqual(self.cat(p('g', 'fixed')),
                         np.arange(12, dtype='<i4').tobytes())

    def read_only_copy(self):
        """The file seen through a read-only bind mount of its dir."""
        ro_dir = os.path.join(self.tmp, 'ro')
        os.mkdir(ro_dir)
        src_dir = os.path.dirname(self.h5path)
        for args in (['mount', '--bind', src_dir, ro_dir],
                     ['mount', '-o', 'remount,bind,ro', ro_dir]):
            result = subprocess.run(args, capture_output=True, text=True)
            if result.returncode != 0:
                subprocess.run(['umount', ro_dir], capture_output=True)
                self.fail('cannot make a read-only bind mount: '
                              + result.stderr.strip())
            if args[1] == '--bind':
                self.addCleanup(subprocess.run, ['umount', ro_dir],
                                capture_output=True)
                self.addCleanup(wh.on_termination(
                    lambda: subprocess.run(['umount', '-l', ro_dir])))
        path = os.path.join(ro_dir, os.path.basename(self.h5path))
        self.assertFalse(os.access(path, os.W_OK))
        return path

    def test_writable_mount_of_unwritable_file_exits_1(self):
        path = self.read_only_copy()
        mnt = os.path.join(self.tmp, 'mnt')
        os.mkdir(mnt)
        status, stdout, stderr = harness.run_daemon_to_exit(
            ['--redis', self.redis.url(), path, mnt], mnt)
        if status is None:
            self.fail('daemon mounted a file it cannot write; stderr: %r'
                      % stderr)
        self.assertFalse(harness.is_mounted(mnt))
        self.assertEqual(status, 1, stderr)
        self.assertEqual(len(stderr.splitlines()), 1, stderr)
        self.assertIn(path, stderr)
        self.assertEqual(stdout, '')
        # -o ro of the same file mounts and reads
        mount = self.mount(args=['-o', 'ro'], h5path=path, name='mnt-ro')
        self.assertEqual(self.cat(self.p('g', 'fixed',
                                         mnt=mount.mountpoint)),
                         np.arange(12, dtype='<i4').tobytes())


if __name__ == '__main__':
    wh.main()
