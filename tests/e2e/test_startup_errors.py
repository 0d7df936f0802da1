#!/usr/bin/python3
"""Startup checks (SPEC.md section 1): a bad FILE, MOUNTPOINT or redis
makes the daemon exit 1 before mounting, with exactly one line on stderr
that names the problem, and nothing mounted."""

import os

import harness

PASSWORD = 'e2e-secret'


class StartupErrors(harness.DaemonTestCase):

    REDIS_PASSWORD = PASSWORD

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.h5 = cls.zoo
        cls.mnt = os.path.join(cls.tmp, 'mnt')
        os.mkdir(cls.mnt)
        cls.text = os.path.join(cls.tmp, 'not hdf5.h5')
        with open(cls.text, 'w') as out:
            out.write('this is not an HDF5 file\n' * 100)
        cls.plain = os.path.join(cls.tmp, 'a file')
        with open(cls.plain, 'w') as out:
            out.write('x')
        cls.empty = os.path.join(cls.tmp, 'empty.h5')
        open(cls.empty, 'w').close()

    def start(self, h5file, mountpoint, redis_url=None):
        """Run the daemon; stop and unmount it if it did not exit."""
        result = harness.run_daemon_to_exit(
            ['--redis', redis_url or self.redis.url(), h5file, mountpoint],
            mountpoint)
        if result[0] is None:
            self.fail('daemon still running after 15s; stderr: %r' % result[2])
        return result

    def assert_refused(self, h5file, mountpoint, names, redis_url=None):
        """Exit 1, one stderr line that contains one of names, not
        mounted."""
        status, stdout, stderr = self.start(h5file, mountpoint, redis_url)
        lines = stderr.splitlines()
        self.assertFalse(harness.is_mounted(mountpoint),
                         'left mounted')
        self.assertEqual(status, 1, 'exit status; stderr: %r' % stderr)
        self.assertEqual(len(lines), 1, 'want one stderr line, got %r'
                         % stderr)
        self.assertTrue(any(n.lower() in lines[0].lower() for n in names),
                        'stderr line %r names none of %r' % (lines[0], names))
        self.assertEqual(stdout, '')

    def test_missing_file(self):
        missing = os.path.join(self.tmp, 'missing.h5')
        self.assert_refused(missing, self.mnt, [missing])

    def test_not_hdf5(self):
        self.assert_refused(self.text, self.mnt, [self.text])

    def test_empty_file(self):
        self.assert_refused(self.empty, self.mnt, [self.empty])

    def test_missing_mountpoint(self):
        missing = os.path.join(self.tmp, 'no such dir')
        self.assert_refused(self.h5, missing, [missing])
        self.assertFalse(os.path.exists(missing))

    def test_mountpoint_is_a_file(self):
        self.assert_refused(self.h5, self.plain, [self.plain])

    def test_redis_unreachable(self):
        url = 'redis://127.0.0.1:%d/0' % harness.free_port()
        self.assert_refused(self.h5, self.mnt, ['redis', url], url)

    def test_redis_wrong_password(self):
        self.assert_refused(self.h5, self.mnt, ['redis', 'password', 'auth'],
                            self.redis.url(password='wrong'))

    def test_redis_no_password(self):
        self.assert_refused(self.h5, self.mnt, ['redis', 'password', 'auth'],
                            'redis://127.0.0.1:%d/0' % self.redis.port)

    def test_redis_wrong_database(self):
        self.assert_refused(self.h5, self.mnt, ['redis', 'database', 'db'],
                            self.redis.url(db=99))

    def test_good_arguments_mount(self):
        # The control: the same file, mount point and redis (with its
        # password) mount, and unmount cleanly.
        mount = harness.Mount(self.h5, self.mnt, self.redis.url())
        mount.start()
        try:
            self.assertIn('types', os.listdir(self.mnt))
        finally:
            problems = mount.stop()
        self.assertEqual(problems, [], mount.log_text())


if __name__ == '__main__':
    harness.main()
