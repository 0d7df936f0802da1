#!/usr/bin/python3
"""mount(8) and /etc/fstab (SPEC.md section 1): `mount -t fuse.h5swmrfs
FILE MNT -o redis=...,lease=...` mounts through mount.fuse3 and reads and
writes; an fstab line mounts with `mount -a -T FSTAB` and with
`mount -T FSTAB MNT` (ro, x-systemd.*, comment= and noauto included); umount
unmounts and the daemon exits; a bad -o value fails the mount with the
daemon's one line; on a dead mount point mount fails with the line that
says so, and with -o auto_unmount mounts.

mount(8) clears PATH, so mount.fuse3 finds `h5swmrfs` only in the shell's
default PATH. The script therefore runs in a private mount namespace of its
own (it starts itself again under `unshare --mount --propagation private`)
where a directory holding `h5swmrfs` (a link to the built daemon) is bound
over /usr/local/sbin; nothing of it is seen outside, and every mount the
test makes lives and dies in that namespace."""

import os
import sys

PRIVATE_MARK = 'H5SWMRFS_E2E_PRIVATE_MOUNTS'
if __name__ == '__main__' and os.environ.get(PRIVATE_MARK) != '1':
    os.environ[PRIVATE_MARK] = '1'
    try:
        os.execvp('unshare', ['unshare', '--mount', '--propagation', 'private',
                              sys.executable, os.path.abspath(__file__)]
                  + sys.argv[1:])
    except OSError as e:
        sys.exit('cannot run unshare: %s' % e)

import errno  # noqa: E402
import shutil  # noqa: E402
import signal  # noqa: E402
import subprocess  # noqa: E402
import tempfile  # noqa: E402
import unittest  # noqa: E402

import harness  # noqa: E402

import h5py  # noqa: E402

SHELL_PATH_DIR = '/usr/local/sbin'  # first in the default PATH of sh
EXIT_WAIT = 20.0


def daemons_on(mountpoint):
    """PIDs of the h5swmrfs processes whose arguments name mountpoint (not
    the connection guard of a caching daemon, its child, named
    h5swmrfs-guard, which ends with it)."""
    found = []
    for name in os.listdir('/proc'):
        if not name.isdigit():
            continue
        try:
            with open('/proc/%s/cmdline' % name, 'rb') as f:
                argv = f.read().split(b'\0')
            with open('/proc/%s/comm' % name) as f:
                if f.read().strip() == 'h5swmrfs-guard':
                    continue
        except OSError:
            continue  # gone meanwhile
        if argv and os.path.basename(argv[0]) == b'h5swmrfs' \
                and os.fsencode(mountpoint) in argv:
            found.append(int(name))
    return found


def pid_alive(pid):
    try:
        with open('/proc/%d/stat' % pid) as f:
            return f.read().split(') ')[-1][:1] != 'Z'
    except OSError:
        return False


class MountCommand(unittest.TestCase):

    @classmethod
    def setUpClass(cls):
        if harness.SELFTEST:
            raise unittest.SkipTest('needs the daemon')
        harness.require_host()
        if os.environ.get(PRIVATE_MARK) != '1':
            raise RuntimeError('run this script itself: it needs its own '
                               'mount namespace')
        for tool in ('mount', 'umount', 'mount.fuse3'):
            if shutil.which(tool, path='/usr/sbin:/usr/bin:/sbin:/bin') \
                    is None:
                raise RuntimeError(tool + ' is missing')
        cls.tmpdir = tempfile.TemporaryDirectory(prefix='h5swmrfs-e2e-')
        cls.tmp = cls.tmpdir.name
        cls.bin = os.path.join(cls.tmp, 'bin')
        os.mkdir(cls.bin)
        os.symlink(os.path.abspath(harness.daemon_path()),
                   os.path.join(cls.bin, 'h5swmrfs'))
        subprocess.run(['mount', '--bind', cls.bin, SHELL_PATH_DIR],
                       check=True)
        cls.redis = harness.Redis().start()
        cls.zoo = os.path.join(cls.tmp, 'zoo.h5')
        harness.make_zoo(cls.zoo)

    @classmethod
    def tearDownClass(cls):
        cls.redis.stop()
        subprocess.run(['umount', SHELL_PATH_DIR])
        cls.tmpdir.cleanup()

    def setUp(self):
        name = self.id().split('.')[-1]
        self.h5 = os.path.join(self.tmp, name + '.h5')
        shutil.copyfile(self.zoo, self.h5)
        self.mnt = os.path.join(self.tmp, name + '.mnt')
        os.mkdir(self.mnt)
        self.daemons = []

    def tearDown(self):
        if harness.is_mounted(self.mnt):
            subprocess.run(['umount', self.mnt], capture_output=True)
        if harness.is_mounted(self.mnt):
            subprocess.run(['fusermount3', '-u', '-z', self.mnt],
                           capture_output=True)
        for pid in self.daemons + daemons_on(self.mnt):
            self.stop_daemon(pid)

    def stop_daemon(self, pid):
        """Waits for daemon pid to exit; SIGTERM, then SIGKILL, by its PID.
        True when it exited by itself."""
        for _ in harness.deadline_loop(EXIT_WAIT):
            if not pid_alive(pid):
                return True
        for signum in (signal.SIGTERM, signal.SIGKILL):
            try:
                os.kill(pid, signum)
            except ProcessLookupError:
                break
            for _ in harness.deadline_loop(5.0):
                if not pid_alive(pid):
                    break
        return False

    def run_mount(self, *args):
        return subprocess.run(['mount'] + list(args), capture_output=True,
                              text=True, env=harness.DAEMON_ENV,
                              stdin=subprocess.DEVNULL, timeout=60)

    def assert_mounted(self, result):
        """The mount command succeeded: returns the daemon's PID."""
        self.assertEqual(result.returncode, 0, result.stderr)
        entry = harness.mount_entry(self.mnt)
        self.assertIsNotNone(entry, 'not mounted; ' + result.stderr)
        self.assertEqual(entry[entry.index('-') + 1], 'fuse.h5swmrfs')
        daemons = daemons_on(self.mnt)
        self.assertEqual(len(daemons), 1, daemons)
        self.daemons += daemons
        return daemons[0]

    def unmount(self, daemon):
        result = subprocess.run(['umount', self.mnt], capture_output=True,
                                text=True)
        self.assertEqual(result.returncode, 0, result.stderr)
        self.assertFalse(harness.is_mounted(self.mnt))
        self.assertTrue(self.stop_daemon(daemon),
                        'the daemon did not exit after umount')

    def fstab(self, options):
        path = os.path.join(self.tmp, self.id().split('.')[-1] + '.fstab')
        with open(path, 'w') as out:
            out.write('# written by %s\n' % self.id())
            out.write('%s %s fuse.h5swmrfs %s 0 0\n'
                      % (self.h5, self.mnt, options))
        return path

    def read_d1(self):
        with open(os.path.join(self.mnt, 'shapes', 'd1'), 'rb') as f:
            return f.read()

    def test_mount_t_reads_and_writes(self):
        daemon = self.assert_mounted(self.run_mount(
            '-t', 'fuse.h5swmrfs', self.h5, self.mnt,
            '-o', 'redis=redis://127.0.0.1:%d/0,lease=2,lock_timeout=10'
            % self.redis.port))
        self.assertEqual(len(self.read_d1()), 28)
        with open(os.path.join(self.mnt, 'from_mount'), 'wb') as out:
            out.write(b'written through mount -t')
        self.unmount(daemon)
        with h5py.File(self.h5, 'r') as f:
            self.assertEqual(f['from_mount'][...].tobytes(),
                             b'written through mount -t')

    def test_fstab_line_with_mount_a(self):
        fstab = self.fstab('redis=redis://127.0.0.1:%d/0,_netdev,nofail'
                           % self.redis.port)
        daemon = self.assert_mounted(self.run_mount('-a', '-T', fstab))
        self.assertEqual(len(self.read_d1()), 28)
        with open(os.path.join(self.mnt, 'from_fstab'), 'wb') as out:
            out.write(b'fstab')
        self.unmount(daemon)
        with h5py.File(self.h5, 'r') as f:
            self.assertEqual(f['from_fstab'][...].tobytes(), b'fstab')

    def test_fstab_line_read_only_by_mount_point(self):
        fstab = self.fstab('ro,noauto,redis=redis://127.0.0.1:%d/0,lease=3,'
                           'x-systemd.automount,x-systemd.idle-timeout=60,'
                           'comment=test,_netdev' % self.redis.port)
        # noauto: mount -a leaves it alone; naming its mount point mounts it.
        result = self.run_mount('-a', '-T', fstab)
        self.assertEqual(result.returncode, 0, result.stderr)
        self.assertFalse(harness.is_mounted(self.mnt))
        daemon = self.assert_mounted(self.run_mount('-T', fstab, self.mnt))
        self.assertEqual(len(self.read_d1()), 28)
        with self.assertRaises(OSError) as raised:
            open(os.path.join(self.mnt, 'refused'), 'wb').close()
        self.assertEqual(raised.exception.errno, errno.EROFS)
        self.unmount(daemon)

    def test_dead_mount_point(self):
        url = 'redis=redis://127.0.0.1:%d/0' % self.redis.port
        killed = harness.Mount(self.h5, self.mnt, self.redis.url()).start()
        killed.proc.send_signal(signal.SIGKILL)
        killed.proc.wait(EXIT_WAIT)
        killed.log.close()  # not stop(): it would clear the dead mount
        self.assertTrue(harness.is_mounted(self.mnt))

        result = self.run_mount('-t', 'fuse.h5swmrfs', self.h5, self.mnt,
                                '-o', url)
        self.assertNotEqual(result.returncode, 0)
        self.assertIn('h5swmrfs: error: mount point %s is a dead FUSE mount'
                      % self.mnt, result.stderr)

        daemon = self.assert_mounted(self.run_mount(
            '-t', 'fuse.h5swmrfs', self.h5, self.mnt,
            '-o', url + ',auto_unmount'))
        self.assertEqual(len(self.read_d1()), 28)
        self.unmount(daemon)

    def test_bad_option_fails_the_mount_with_one_line(self):
        result = self.run_mount('-t', 'fuse.h5swmrfs', self.h5, self.mnt,
                                '-o', 'redis=redis://127.0.0.1:%d/0,lease=abc'
                                % self.redis.port)
        self.assertNotEqual(result.returncode, 0)
        self.assertFalse(harness.is_mounted(self.mnt))
        ours = [line for line in result.stderr.splitlines()
                if line.startswith('h5swmrfs')]
        self.assertEqual(ours, ["h5swmrfs: error: -o lease: expected a "
                                "positive number of seconds, got 'abc'"],
                         result.stderr)


if __name__ == '__main__':
    harness.main()
