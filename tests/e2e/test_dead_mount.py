#!/usr/bin/python3
"""A dead mount point: after a daemon is SIGKILLed its mount stays, every
access failing with ENOTCONN. The next daemon on it says so in one line
and exits 1; with -o auto_unmount it clears the dead mount and mounts, and
the kernel unmounts that mount by itself when its daemon is killed in turn;
a daemon with -o auto_unmount unmounts cleanly with fusermount3 -u too."""

import errno
import os
import signal
import subprocess

import harness


class DeadMount(harness.DaemonTestCase):

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.h5 = cls.zoo

    def setUp(self):
        self.mnt = os.path.join(self.tmp, self.id().split('.')[-1])
        os.mkdir(self.mnt)
        self.mounts = []

    def tearDown(self):
        for mount in self.mounts:
            mount.stop(check_status=False)
        # What a failed test left: dead mounts included.
        for _ in harness.deadline_loop(5.0):
            if not harness.is_mounted(self.mnt):
                break
            subprocess.run(['fusermount3', '-u', '-z', self.mnt],
                           capture_output=True)

    def mount(self, *args):
        mount = harness.Mount(self.h5, self.mnt, self.redis.url(), args=args)
        self.mounts.append(mount)
        return mount

    def kill_daemon(self, mount):
        """SIGKILL the daemon by its PID and wait for it."""
        mount.proc.send_signal(signal.SIGKILL)
        mount.proc.wait(harness.EXIT_TIMEOUT)

    def stat_errno(self):
        try:
            os.stat(self.mnt)
        except OSError as e:
            return e.errno
        return 0

    def make_dead_mount(self):
        mount = self.mount().start()
        self.assertIn('types', os.listdir(self.mnt))
        self.kill_daemon(mount)
        self.assertTrue(harness.is_mounted(self.mnt))
        self.assertEqual(self.stat_errno(), errno.ENOTCONN)

    def wait_served(self, mount):
        """Waits until the mount point answers again (mount.start() would
        return at once: the dead mount is in mountinfo already)."""
        for _ in harness.deadline_loop(harness.MOUNT_TIMEOUT):
            if mount.proc.poll() is not None:
                self.fail('daemon exited with status %d:\n%s'
                          % (mount.proc.returncode, mount.log_text()))
            if self.stat_errno() == 0 and harness.is_mounted(self.mnt) \
                    and 'types' in os.listdir(self.mnt):
                return
        self.fail('not mounted again:\n' + mount.log_text())

    def test_dead_mount_point_is_named(self):
        self.make_dead_mount()
        status, stdout, stderr = harness.run_daemon_to_exit(
            ['--redis', self.redis.url(), self.h5, self.mnt], self.mnt)
        lines = stderr.splitlines()
        self.assertEqual(status, 1, stderr)
        self.assertEqual(len(lines), 1, stderr)
        for words in ('dead FUSE mount', self.mnt, 'fusermount3 -u',
                      'auto_unmount'):
            self.assertIn(words, lines[0])
        self.assertEqual(stdout, '')
        self.assertEqual(self.stat_errno(), errno.ENOTCONN, 'left as it was')

    def test_auto_unmount_clears_a_dead_mount_and_mounts(self):
        self.make_dead_mount()
        mount = self.mount('-o', 'auto_unmount')
        mount.log = open(mount.log_path, 'wb')
        mount.proc = subprocess.Popen(mount.command(),
                                      stdin=subprocess.DEVNULL,
                                      stdout=mount.log, stderr=mount.log,
                                      env=harness.DAEMON_ENV, cwd='/')
        self.wait_served(mount)
        with open(os.path.join(self.mnt, 'shapes', 'd1'), 'rb') as f:
            self.assertEqual(len(f.read()), 28)
        self.assertIn('unmounted the dead FUSE mount', mount.log_text())
        # Only one mount is left on the mount point: the dead one is gone.
        with open('/proc/self/mountinfo') as info:
            on_it = [line for line in info
                     if line.split()[4] == os.path.realpath(self.mnt)]
        self.assertEqual(len(on_it), 1, on_it)

        # auto_unmount itself: this daemon killed, the kernel unmounts.
        self.kill_daemon(mount)
        for _ in harness.deadline_loop(10.0):
            if not harness.is_mounted(self.mnt):
                break
        self.assertFalse(harness.is_mounted(self.mnt),
                         'auto_unmount left the mount of a killed daemon')
        self.assertEqual(self.stat_errno(), 0)

    def test_auto_unmount_unmounts_cleanly(self):
        mount = self.mount('-o', 'auto_unmount').start()
        with open(os.path.join(self.mnt, 'shapes', 'd1'), 'rb') as f:
            self.assertEqual(len(f.read()), 28)
        self.mounts.remove(mount)
        problems = mount.stop()
        self.assertEqual(problems, [], mount.log_text())
        self.assertFalse(harness.is_mounted(self.mnt))


if __name__ == '__main__':
    harness.main()
