#!/usr/bin/python3
"""Unmounting (SPEC.md section 1): fusermount3 -u (the daemon then exits
0), SIGTERM and SIGINT each unmount cleanly; a second mount of the same
file works while the first is up."""

import os
import signal
import subprocess

import harness


class Lifecycle(harness.DaemonTestCase):

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.h5 = cls.zoo

    def mount(self, name):
        mnt = os.path.join(self.tmp, name)
        os.makedirs(mnt, exist_ok=True)
        return harness.Mount(self.h5, mnt, self.redis.url()).start()

    def check_signal(self, signum):
        # libfuse's loop returns the signal number, so the exit status is
        # not checked; the daemon must exit by itself (not die of the
        # signal), leave nothing mounted, and log no error.
        mount = self.mount('mnt-%d' % signum)
        try:
            self.assertIn('types', os.listdir(mount.mountpoint))
            mount.proc.send_signal(signum)
            status = mount.proc.wait(harness.EXIT_TIMEOUT)
            still_mounted = harness.is_mounted(mount.mountpoint)
        except subprocess.TimeoutExpired:
            status, still_mounted = 'hung', None
        finally:
            log = mount.log_text()
            problems = mount.stop(check_status=False)  # cleans up the rest
        self.assertIsInstance(status, int, log)
        self.assertGreaterEqual(status, 0, 'killed by signal %d; log:\n%s'
                                % (-status if status < 0 else 0, log))
        self.assertFalse(still_mounted, log)
        self.assertEqual(problems, [], log)

    def test_sigterm_unmounts(self):
        self.check_signal(signal.SIGTERM)

    def test_sigint_unmounts(self):
        self.check_signal(signal.SIGINT)

    def test_sigterm_with_files_open(self):
        # The kernel still holds a directory, a reader and a writer with staged
        # bytes: the daemon frees them (the sanitizer build checks for leaks),
        # exits cleanly, and commits nothing that was never closed.
        import h5py
        with h5py.File(self.h5, 'r') as f:
            before = f['shapes/d1'][...].tobytes()
        mount = self.mount('mnt-open')
        fds = []
        try:
            d1 = os.path.join(mount.mountpoint, 'shapes', 'd1')
            fds.append(os.open(os.path.join(mount.mountpoint, 'shapes'), os.O_RDONLY | os.O_DIRECTORY))
            fds.append(os.open(d1, os.O_RDONLY))
            self.assertEqual(len(os.read(fds[-1], 100)), 28)
            fds.append(os.open(d1, os.O_WRONLY))
            self.assertEqual(os.write(fds[-1], b'\xff' * 8), 8)
            mount.proc.send_signal(signal.SIGTERM)
            status = mount.proc.wait(harness.EXIT_TIMEOUT)
        finally:
            for fd in fds:
                try:
                    os.close(fd)
                except OSError:
                    pass  # the mount is gone: closing its descriptors may fail
            log = mount.log_text()
            problems = mount.stop(check_status=False)
        self.assertEqual(status, 0, log)
        self.assertEqual(problems, [], log)
        self.assertFalse(harness.is_mounted(mount.mountpoint), log)
        self.assertNotIn('LeakSanitizer', log)
        with h5py.File(self.h5, 'r') as f:
            self.assertEqual(f['shapes/d1'][...].tobytes(), before)

    def test_fusermount_unmounts(self):
        mount = self.mount('mnt-u')
        self.assertEqual(len(os.listdir(mount.mountpoint)) > 0, True)
        problems = mount.stop()
        self.assertEqual(problems, [], mount.log_text())
        self.assertFalse(harness.is_mounted(mount.mountpoint))

    def test_two_mounts_of_one_file(self):
        first = self.mount('mnt-a')
        try:
            second = self.mount('mnt-b')
            try:
                for mnt in (first.mountpoint, second.mountpoint):
                    with open(os.path.join(mnt, 'shapes', 'd1'), 'rb') as f:
                        self.assertEqual(len(f.read()), 28)
            finally:
                problems = second.stop()
                self.assertEqual(problems, [], second.log_text())
        finally:
            problems = first.stop()
            self.assertEqual(problems, [], first.log_text())


if __name__ == '__main__':
    harness.main()
