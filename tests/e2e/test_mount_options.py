#!/usr/bin/python3
"""Every long option in FUSE's -o spelling (SPEC.md section 1): a mount
given only -o options uses them (redis with a password file, lock key,
lease, lock timeout, create, lock=local, ro); each -o value is checked as
its long form is (exit 1, one stderr line naming it, nothing mounted); the
last of two spellings counts; the options mount(8) adds for itself are
accepted; an option libfuse does not know is one line too."""

import errno
import os
import shutil

import harness

import h5py
import redis

PASSWORD = 'e2e-secret'


class MountOptions(harness.DaemonTestCase):

    REDIS_PASSWORD = PASSWORD

    @classmethod
    def setUpClass(cls):
        super().setUpClass()
        cls.password_file = os.path.join(cls.tmp, 'password')
        with open(cls.password_file, 'w') as out:
            out.write(PASSWORD + '\n')
        cls.plain_url = 'redis://127.0.0.1:%d/0' % cls.redis.port

    def setUp(self):
        self.mounts = []
        self.h5 = os.path.join(self.tmp, self.id().split('.')[-1] + '.h5')
        shutil.copyfile(self.zoo, self.h5)
        self.mnt = self.h5[:-3] + '.mnt'
        os.mkdir(self.mnt)

    def tearDown(self):
        for mount in self.mounts:
            mount.stop(check_status=False)

    def mount(self, *args, redis_url=None):
        """Mounts self.h5 with the daemon's arguments args; checked at
        unmount (assert_clean_unmount)."""
        mount = harness.Mount(self.h5, self.mnt, redis_url, args=args)
        self.mounts.append(mount)
        return mount.start()

    def assert_clean_unmount(self, mount):
        self.mounts.remove(mount)
        problems = mount.stop()
        self.assertEqual(problems, [], mount.log_text())
        self.assertFalse(harness.is_mounted(self.mnt))

    def redis_client(self):
        return redis.Redis(host='127.0.0.1', port=self.redis.port,
                           password=PASSWORD)

    def write_new_dataset(self, name, data):
        with open(os.path.join(self.mnt, name), 'wb') as out:
            out.write(data)

    def assert_dataset(self, name, data):
        with h5py.File(self.h5, 'r') as f:
            self.assertEqual(f[name][...].tobytes(), data)

    def assert_refused(self, args, *names):
        """The daemon with args exits 1 before mounting, with one stderr
        line that contains every one of names."""
        status, stdout, stderr = harness.run_daemon_to_exit(
            list(args) + [self.h5, self.mnt], self.mnt)
        lines = stderr.splitlines()
        self.assertFalse(harness.is_mounted(self.mnt), 'left mounted')
        self.assertEqual(status, 1, 'exit status; stderr: %r' % stderr)
        self.assertEqual(len(lines), 1, 'want one stderr line, got %r' % stderr)
        for name in names:
            self.assertIn(name, lines[0])
        self.assertEqual(stdout, '')
        return lines[0]

    def test_every_option_with_a_value_by_o(self):
        key = 'e2e-key-' + self.id().split('.')[-1]
        mount = self.mount(
            '-o', 'redis=%s,redis_password_file=%s,lock=redis,lock_key=%s,'
                  'lease=2,lock_timeout=5' % (self.plain_url,
                                                self.password_file, key))
        with open(os.path.join(self.mnt, 'shapes', 'd1'), 'rb') as f:
            self.assertEqual(len(f.read()), 28)
        self.write_new_dataset('by_o', b'written through -o options')
        self.assertTrue(self.redis_client().exists('h5swmr:{%s}:generation'
                                                   % key))
        self.assert_clean_unmount(mount)
        self.assert_dataset('by_o', b'written through -o options')

    def test_create_by_o(self):
        os.unlink(self.h5)
        mount = self.mount('-o', 'create,lock=local')
        self.assertEqual(os.listdir(self.mnt), [])
        self.write_new_dataset('new', b'abc')
        self.assertTrue(os.path.exists(self.h5 + '.h5swmrfs-lock'))
        self.assert_clean_unmount(mount)
        self.assert_dataset('new', b'abc')

    def readahead_kb(self):
        device = os.stat(self.mnt).st_dev
        path = '/sys/class/bdi/%d:%d/read_ahead_kb' % (os.major(device), os.minor(device))
        with open(path) as f:
            return int(f.read())

    def test_readahead_of_a_caching_mount(self):
        """A mount that caches reads ahead two whole requests (README Kernel
        caching); one that does not keeps the kernel's default."""
        mount = self.mount(redis_url=self.redis.url())
        self.assertEqual(self.readahead_kb(), 1024)
        self.assert_clean_unmount(mount)
        mount = self.mount('-o', 'no_cache', redis_url=self.redis.url())
        self.assertEqual(self.readahead_kb(), 128)
        self.assert_clean_unmount(mount)

    def test_ro_by_o_is_read_only(self):
        mount = self.mount('-o', 'rw,ro', redis_url=self.redis.url())
        with self.assertRaises(OSError) as raised:
            self.write_new_dataset('refused', b'x')
        self.assertEqual(raised.exception.errno, errno.EROFS)
        self.assertEqual(os.stat(self.mnt).st_mode & 0o777, 0o555)
        self.assert_clean_unmount(mount)

    def test_last_spelling_counts(self):
        mount = self.mount('-o', 'lock_key=first,redis=redis://127.0.0.1:1/0',
                           '--lock-key', 'second', '--redis', 'redis://127.0.0.1:1/0',
                           '-o', 'redis=' + self.redis.url())
        self.write_new_dataset('last', b'1')
        client = self.redis_client()
        self.assertTrue(client.exists('h5swmr:{second}:generation'))
        self.assertFalse(client.exists('h5swmr:{first}:generation'))
        self.assert_clean_unmount(mount)

    def test_options_mount_adds_are_accepted(self):
        mount = self.mount(
            '-o', 'rw,defaults,auto,noauto,user,nouser,users,_netdev,nofail,'
                  'comment=x-systemd.automount,x-systemd.automount,'
                  'x-systemd.device-timeout=10,X-mount.mkdir,exec,noexec,'
                  'dev,nodev,suid,nosuid',
            redis_url=self.redis.url())
        self.write_new_dataset('accepted', b'ok')
        entry = harness.mount_entry(self.mnt)
        self.assertIn('nosuid', entry[5])  # the last of suid, nosuid
        self.assert_clean_unmount(mount)
        self.assert_dataset('accepted', b'ok')

    def test_bad_values_by_o_and_long(self):
        cases = [
            (['-o', 'lease=abc'], 'lease', 'abc'),
            (['--lease', 'abc'], '--lease', 'abc'),
            (['-o', 'lease=0'], 'lease', "'0'"),
            (['-o', 'lock_timeout=-3'], 'lock_timeout', '-3'),
            (['--lock-timeout=nan'], '--lock-timeout', 'nan'),
            (['-o', 'lock=nfs'], 'lock', 'nfs'),
            (['--lock', 'nfs'], '--lock', 'nfs'),
            (['-o', 'redis'], 'redis', 'missing value'),
            (['-o', 'lock_key'], 'lock_key', 'missing value'),
            (['-o', 'lock_key='], 'lock_key', 'empty'),
            (['--lock-key', ''], '--lock-key', 'empty'),
            (['-o', 'redis_password_file'], 'redis_password_file', 'missing value'),
            (['-o', 'create=yes'], 'create', 'takes no value'),
            (['--create=yes'], '--create', 'takes no value'),
            (['-o', 'ro=1'], 'ro', 'takes no value'),
            (['-o', 'auto_unmount=1'], 'auto_unmount', 'takes no value'),
            (['-o', 'no_such_option'], 'no_such_option'),
            (['-o', 'rw,no_such_option,dev'], 'no_such_option'),
            (['-o', 'max_read=abc'], 'max_read=abc'),
            (['--no-such-option'], '--no-such-option'),
            (['-o', 'redis=redis://127.0.0.1:%d/0' % harness.free_port()],
             'redis'),
            (['-o', 'redis=' + self.plain_url], 'redis'),  # no password
            (['-o', 'redis=%s,redis_password_file=%s'
              % (self.plain_url, os.path.join(self.tmp, 'missing'))],
             os.path.join(self.tmp, 'missing')),
        ]
        for args, *names in cases:
            with self.subTest(args=args):
                self.assert_refused(args, *names)

    def test_unknown_option_refused_before_create(self):
        # The options are checked before anything is done: --create makes
        # no file when an option is wrong.
        os.unlink(self.h5)
        self.assert_refused(['-o', 'create,lock=local,no_such_option'],
                            'no_such_option')
        self.assertFalse(os.path.exists(self.h5))


if __name__ == '__main__':
    harness.main()
