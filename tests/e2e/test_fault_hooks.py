#!/usr/bin/python3
"""No exception reaches libfuse (docs/DESIGN.md): every operation runs
inside one wrapper that turns whatever it throws into an errno reply and a
log line. A test-only fault hook (src/fs/fault.cpp, compiled into every
build but a release one) makes the next call of a named operation throw;
for each operation in turn, the call that triggers it fails with EIO, the
daemon stays up, and the next call works.

readdir is not among them: the mount asks the kernel for readdirplus
(operations.cpp, init), so the kernel never sends it.
"""

import errno
import os
import re
import stat
import subprocess
import tempfile
import unittest

import harness
import write_harness as wh

import numpy as np


class FaultHooks(wh.WriteTestCase):

    def setUp(self):
        super().setUp()
        fd, self.fault_file = tempfile.mkstemp(prefix='h5swmrfs-fault-')
        os.close(fd)
        self.addCleanup(os.unlink, self.fault_file)
        harness.DAEMON_ENV['H5SWMRFS_FAULT_FILE'] = self.fault_file
        self.addCleanup(harness.DAEMON_ENV.pop, 'H5SWMRFS_FAULT_FILE', None)

        def build(f):
            f.create_dataset('ds', data=np.arange(10, dtype='<i4'))
            f.create_dataset('rows', shape=(0, 2), maxshape=(None, 2),
                             dtype='<i4', chunks=(4, 2))
            f['ds'].attrs['note'] = 'hello'
            f.create_group('g')
            f['link'] = h5py_soft('/ds')
        self.make_file(build)
        self.mount(errors=True)

    def fail_next(self, op):
        with open(self.fault_file, 'w') as out:
            out.write(op)

    def consumed(self):
        return os.path.getsize(self.fault_file) == 0

    def check(self, op, call):
        """call() triggers op: made to fail, it raises EIO, and afterwards
        works."""
        self.fail_next(op)
        try:
            call()
            failed = None
        except OSError as e:
            failed = e.errno
        self.assertTrue(self.consumed(), '%s was not called' % op)
        self.assertEqual(failed, errno.EIO, '%s: %s' % (
            op, os.strerror(failed) if failed else 'no error'))
        self.assertTrue(harness.is_mounted(self.mnt), 'mount gone')
        call()  # works again
        self.assertRegex(self.mounts[0].log_text(),
                         r'(?m)^h5swmrfs\[\d+\] error: %s: fault hook' % op)

    def test_every_operation(self):
        p = self.p
        fresh = iter(range(1000))

        def new_name():
            return p('n%d' % next(fresh))

        def write_fd(flags, data=b'\0\0\0\0\0\0\0\0'):
            fd = os.open(p('rows'), flags)
            try:
                os.write(fd, data)
            finally:
                os.close(fd)

        def with_open(use, flags=os.O_RDONLY, path=None):
            fd = os.open(path or p('ds'), flags)
            try:
                return use(fd)
            finally:
                os.close(fd)

        def rename_back_and_forth():
            os.rename(p('g'), p('h'))
            os.rename(p('h'), p('g'))

        cases = [
            ('lookup', lambda: os.stat(p('ds'))),
            ('getattr', lambda: os.stat(self.mnt)),
            ('readlink', lambda: os.readlink(p('link'))),
            ('opendir', lambda: os.listdir(self.mnt)),
            ('readdirplus', lambda: os.listdir(self.mnt)),
            ('statfs', lambda: os.statvfs(self.mnt)),
            ('open', lambda: with_open(lambda fd: None)),
            ('read', lambda: with_open(lambda fd: os.read(fd, 40))),
            ('getxattr', lambda: os.getxattr(p('ds'), 'user.note')),
            ('listxattr', lambda: os.listxattr(p('ds'))),
            ('create', lambda: os.close(os.open(new_name(),
                                                os.O_CREAT | os.O_WRONLY))),
            ('write', lambda: write_fd(os.O_WRONLY | os.O_APPEND)),
            ('flush', lambda: write_fd(os.O_WRONLY | os.O_APPEND)),
            ('fsync', lambda: with_open(os.fsync, os.O_WRONLY, p('rows'))),
            ('setattr', lambda: os.truncate(p('rows'), 0)),
            ('mkdir', lambda: os.mkdir(new_name())),
            ('mknod', lambda: os.mknod(new_name(), stat.S_IFREG | 0o644)),
            ('unlink', lambda: os.unlink(self.made(new_name()))),
            ('rmdir', lambda: os.rmdir(self.made(new_name(), directory=True))),
            ('rename', rename_back_and_forth),
            ('symlink', lambda: os.symlink('ds', new_name())),
            ('link', lambda: os.link(p('ds'), new_name())),
            ('setxattr', lambda: os.setxattr(p('ds'), 'user.x', b'1')),
            ('removexattr', lambda: self.remove_attribute(p('ds'))),
        ]
        for op, call in cases:
            with self.subTest(op):
                self.check(op, call)
        # What the kernel sends after close(2) and closedir(3) without
        # waiting: their errors reach nobody; the daemon must live on.
        for op, call in (('release', lambda: with_open(lambda fd: None)),
                         ('releasedir', lambda: os.listdir(self.mnt))):
            with self.subTest(op):
                self.fail_next(op)
                call()
                for _ in harness.deadline_loop(10):
                    if self.consumed():
                        break
                self.assertTrue(self.consumed(), '%s was not called' % op)
                self.assertTrue(harness.is_mounted(self.mnt), 'mount gone')
                call()
                # Nobody waits for their answer: the log line may come
                # a moment after the fault file was emptied.
                logged = r'(?m)^h5swmrfs\[\d+\] error: %s: fault' % op
                for _ in harness.deadline_loop(10):
                    if re.search(logged, self.mounts[0].log_text()):
                        break
                self.assertRegex(self.mounts[0].log_text(), logged)
        # forget: the kernel drops the inodes it knows when asked to.
        with self.subTest('forget'):
            for name in ('forget', 'forget_multi'):
                self.fail_next(name)
                os.listdir(self.mnt)
                subprocess.run(['sh', '-c', 'echo 2 > /proc/sys/vm/drop_caches'],
                               check=True)
                if self.consumed():
                    break
            self.assertTrue(self.consumed(), 'neither forget was sent')
            self.assertEqual(len(self.cat(p('ds'))), 40)

    def made(self, path, directory=False):
        """path, made first (with no fault armed)."""
        saved = open(self.fault_file).read()
        self.fail_next('')
        if directory:
            os.mkdir(path)
        else:
            os.close(os.open(path, os.O_CREAT | os.O_WRONLY))
        self.fail_next(saved)
        return path

    def remove_attribute(self, path):
        if 'user.gone' not in os.listxattr(path):
            saved = open(self.fault_file).read()
            self.fail_next('')
            os.setxattr(path, 'user.gone', b'1')
            self.fail_next(saved)
        os.removexattr(path, 'user.gone')


def h5py_soft(target):
    import h5py
    return h5py.SoftLink(target)


if __name__ == '__main__':
    wh.main()
