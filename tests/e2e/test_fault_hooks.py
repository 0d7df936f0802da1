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
import threading
import time

import harness
import write_harness as wh

import numpy as np


def use_fault_file(test):
    """Daemons that test starts read test.fault_file (src/fs/fault.cpp)."""
    fd, test.fault_file = tempfile.mkstemp(prefix='h5swmrfs-fault-')
    os.close(fd)
    test.addCleanup(os.unlink, test.fault_file)
    harness.DAEMON_ENV['H5SWMRFS_FAULT_FILE'] = test.fault_file
    test.addCleanup(harness.DAEMON_ENV.pop, 'H5SWMRFS_FAULT_FILE', None)


class FaultHooks(wh.WriteTestCase):

    def setUp(self):
        super().setUp()
        use_fault_file(self)

        def build(f):
            f.create_dataset('ds', data=np.arange(10, dtype='<i4'))
            f.create_dataset('rows', shape=(0, 2), maxshape=(None, 2),
                             dtype='<i4', chunks=(4, 2))
            f['ds'].attrs['note'] = 'hello'
            f.create_group('g')
            f['link'] = h5py_soft('/ds')
        self.make_file(build)
        # Each operation must reach the daemon: nothing answered from the kernel's caches.
        self.mount(args=['--no-cache'], errors=True)

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
        # The kernel queues forgets and sends them when it likes: each is
        # waited for a moment.
        with self.subTest('forget'):
            for name in ('forget', 'forget_multi') * 3:
                self.fail_next(name)
                os.listdir(self.mnt)
                subprocess.run(['sh', '-c', 'echo 2 > /proc/sys/vm/drop_caches'],
                               check=True)
                for _ in harness.deadline_loop(2):
                    if self.consumed():
                        break
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


class PinTakenDuringACut(wh.WriteTestCase):
    """A reader's open takes its shared hold, and before it keeps it as its
    pin, a writer of the same mount cuts every pin (there is none yet) and
    queues for the exclusive hold. The open must let its hold go rather
    than keep it as a pin the cut has missed: else the writer waits for
    the grace of --lock-timeout/4 (here 5 s), or for ever on a mount whose
    lock tells it of no waiting writer. The pause hook holds the open
    between the two steps for PAUSE seconds."""

    PAUSE = 1.5
    LOCK_TIMEOUT = 20

    def setUp(self):
        super().setUp()
        use_fault_file(self)
        def build(f):
            f.create_dataset('ds', data=np.arange(10, dtype='<i4'))
            f.create_dataset('other', data=np.zeros(8, dtype='u1'))
        self.make_file(build)
        self.mount(args=['--lock-timeout', str(self.LOCK_TIMEOUT)])

    def test_writer_is_not_kept_out(self):
        with open(self.fault_file, 'w') as out:
            out.write('pause open-pin %d' % (self.PAUSE * 1000))
        opened = []
        reader = threading.Thread(
            target=lambda: opened.append(os.open(self.p('ds'), os.O_RDONLY)))
        reader.start()
        try:
            self.wait_paused('the open')
            start = time.monotonic()  # the open holds its hold, unpinned
            new = np.arange(100, 110, dtype='<i4').tobytes()
            fd = os.open(self.p('ds'), os.O_WRONLY)
            try:
                os.write(fd, new)
            finally:
                os.close(fd)  # commits: waits for the open's hold
            took = time.monotonic() - start
        finally:
            reader.join()
            for fd in opened:
                os.close(fd)
        print('  writer behind an open paused before its pin: %.2fs' % took)
        self.assertLess(took, self.PAUSE + 2.0,
                        'the writer waited %.1fs: the open kept the hold '
                        'as a pin after the cut' % took)
        self.assertEqual(self.cat(self.p('ds')), new)

    def wait_paused(self, what):
        """Until the pause hook was reached (it empties the fault file)."""
        for _ in harness.deadline_loop(10):
            if os.path.getsize(self.fault_file) == 0:
                break
        self.assertEqual(os.path.getsize(self.fault_file), 0,
                         what + ' never reached its pin')

    def write(self, name, data):
        fd = os.open(self.p(name), os.O_WRONLY)
        try:
            os.write(fd, data)
        finally:
            os.close(fd)

    def test_writer_is_not_kept_out_by_a_read(self):
        """The same for a read that takes a new hold after its pin was cut,
        and would keep it as its pin again."""
        fd = os.open(self.p('ds'), os.O_RDONLY)
        try:
            # A write of another dataset cuts the pin; ds is untouched, so
            # the next read goes on with a new hold and pins it again.
            self.write('other', bytes(8))
            with open(self.fault_file, 'w') as out:
                out.write('pause read-repin %d' % (self.PAUSE * 1000))
            got = []
            reader = threading.Thread(
                target=lambda: got.append(os.pread(fd, 40, 0)))
            reader.start()
            try:
                self.wait_paused('the read')
                start = time.monotonic()
                self.write('other', bytes(range(8)))
                took = time.monotonic() - start
            finally:
                reader.join()
        finally:
            os.close(fd)
        print('  writer behind a read paused before its pin: %.2fs' % took)
        self.assertEqual(got, [np.arange(10, dtype='<i4').tobytes()])
        self.assertLess(took, self.PAUSE + 2.0,
                        'the writer waited %.1fs: the read kept its new '
                        'hold as a pin after the cut' % took)


def h5py_soft(target):
    import h5py
    return h5py.SoftLink(target)


if __name__ == '__main__':
    wh.main()
