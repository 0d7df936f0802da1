#!/usr/bin/python3
"""A caching daemon that is killed, or told to stop, while its cache thread
waits in the kernel still ends (src/fs/connection_guard.h).

Telling the kernel to forget a file's pages waits for each page's lock. A
read of pages the kernel does not have holds their locks while it waits for
the daemon; here it waits because h5swmrfs-ctl holds the lock exclusively.
The mount's cache thread (paused by a test-only fault point until that read
is pending) then waits for those pages in the kernel. Killed now, the daemon
cannot end by itself: that thread waits for a read only the daemon could
answer, and the daemon's /dev/fuse descriptor stays open while it waits. Its
guard process aborts the FUSE connection. (A daemon told to stop aborts it
itself when its cache thread does not end: tests/unit/kernel_cache_test.cpp.)"""

import contextlib
import os
import signal
import subprocess
import time

import numpy as np

import harness
import write_harness as wh
from test_fault_hooks import use_fault_file

SIZE = 16 << 20


def build(f):
    f.create_dataset('big', data=np.full(SIZE, 7, dtype='u1'))


# Maps the dataset, reads its first page, says "ready", and on a line from
# stdin touches the page at argv[2].
FAULTER = """
import mmap, os, sys
fd = os.open(sys.argv[1], os.O_RDONLY)
mapped = mmap.mmap(fd, 0, prot=mmap.PROT_READ)
os.close(fd)
assert mapped[0] == 7
print('ready', flush=True)
sys.stdin.readline()
print(mapped[int(sys.argv[2])], flush=True)
"""


def children(pid):
    """The PIDs of the children of every thread of pid."""
    found = []
    for task in os.listdir('/proc/%d/task' % pid):
        with open('/proc/%d/task/%s/children' % (pid, task)) as f:
            found += [int(p) for p in f.read().split()]
    return found


def kernel_stacks(pid):
    """The kernel stacks of pid's threads, as one text."""
    text = []
    for task in os.listdir('/proc/%d/task' % pid):
        try:
            with open('/proc/%d/task/%s/stack' % (pid, task)) as f:
                text.append(f.read())
        except OSError:
            pass
    return '\n'.join(text)


def gone(pid):
    """pid has ended (and was reaped, or is a zombie)."""
    try:
        with open('/proc/%d/stat' % pid) as f:
            return f.read().rsplit(')', 1)[1].split()[0] == 'Z'
    except FileNotFoundError:
        return True


class StuckWhileForgetting(wh.WriteTestCase):

    def setUp(self):
        super().setUp()
        use_fault_file(self)
        self.make_file(build)
        self.mount_ = self.mount(name='ra', args=['--cache', '--lease', '2'],
                                 errors=True)
        self.path = os.path.join(self.mount_.mountpoint, 'big')
        self.daemon = self.mount_.proc

    def abort_connection(self):
        """What the guard does (a build without one must not hang the suite)."""
        with open('/proc/self/mountinfo') as mounts:
            lines = [line.split() for line in mounts]
        control = '/sys/fs/fuse/connections'
        if not any(f[4] == control for f in lines):
            subprocess.run(['mount', '-t', 'fusectl', 'none', control], check=True)
        for fields in lines:
            if fields[4] == self.mount_.mountpoint:
                minor = fields[2].split(':')[1]
                with open('%s/%s/abort' % (control, minor), 'w') as f:
                    f.write('1')

    @contextlib.contextmanager
    def stuck(self):
        """While the body runs, the mount's cache thread waits in the kernel
        for a page that a pending read holds, and h5swmrfs-ctl holds the lock
        exclusively; yields the process whose page fault that read is."""
        # A mapping: its process follows the file across changes (no pin to
        # cut), so its fault waits for the next shared hold.
        faulter = subprocess.Popen(
            ['/usr/bin/python3', '-c', FAULTER, self.path, str(SIZE // 2)],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE)
        self.addCleanup(harness._stop_pid, faulter)
        self.addCleanup(faulter.stdout.close)
        self.addCleanup(faulter.stdin.close)
        self.assertEqual(faulter.stdout.readline(), b'ready\n')
        with open(self.fault_file, 'w') as f:
            f.write('pause cache-drop@%s 1000' % self.mount_.mountpoint)
        with self.exclusive_hold():  # the mount gives its hold up: a drop
            faulter.stdin.write(b'go\n')
            faulter.stdin.flush()
            for _ in harness.deadline_loop(20):
                if 'fuse_reverse_inval_inode' in kernel_stacks(self.daemon.pid):
                    break
            self.assertIn('fuse_reverse_inval_inode', kernel_stacks(self.daemon.pid),
                          'the cache thread never waited in the kernel')
            self.assertIsNone(faulter.poll())
            yield faulter

    def assert_ends(self, faulter):
        try:
            self.daemon.wait(10)
        except subprocess.TimeoutExpired:
            stacks = kernel_stacks(self.daemon.pid)
            self.abort_connection()
            self.daemon.wait(10)
            self.fail('the daemon did not end within 10 s:\n%s' % stacks)
        faulter.wait(10)  # the read its fault waits for failed: SIGBUS
        self.assertEqual(faulter.returncode, -signal.SIGBUS)

    def test_a_killed_daemon_ends(self):
        guards = children(self.daemon.pid)
        self.assertEqual(len(guards), 1, 'a caching daemon runs one guard')
        with open('/proc/%d/comm' % guards[0]) as comm:
            self.assertEqual(comm.read().strip(), 'h5swmrfs-guard')
        with self.stuck() as faulter:
            os.kill(self.daemon.pid, signal.SIGKILL)
            self.assert_ends(faulter)
        for _ in harness.deadline_loop(10):
            if gone(guards[0]):
                break
        self.assertTrue(gone(guards[0]), 'the guard outlived its work')
        self.assertIn('aborted the FUSE connection of ' + self.mount_.mountpoint,
                      self.mount_.log_text())
        self.mount_.stop(check_status=False)

    def test_a_daemon_that_does_not_cache_runs_no_guard(self):
        self.unmount(self.mount_)
        other = self.mount(name='nc', args=['--no-cache'])
        self.assertEqual(children(other.proc.pid), [])


if __name__ == '__main__':
    wh.main()
