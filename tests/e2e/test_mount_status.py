#!/usr/bin/python3
"""h5swmrfs-ctl status MOUNTPOINT: whether a mount answers, the file and
lock it serves, its holds, and an exit status a script can test: 0 for a
mount that answers, 3 for one whose daemon is stopped (the check gives up
after --timeout instead of hanging with it), 4 for one whose daemon is
gone, 2 for a path that is no h5swmrfs mount point."""

import json
import os
import signal
import subprocess
import time

import numpy as np

import harness
import write_harness as wh
from test_fault_hooks import use_fault_file


def build(f):
    f.create_dataset('data', data=np.arange(1000, dtype='u1'))


class MountStatus(wh.WriteTestCase):

    def setUp(self):
        super().setUp()
        self.make_file(build)

    def status(self, *args, timeout=30):
        result = self.run_tool(self.ctl, '--redis', self.redis.url(),
                               'status', *args, timeout=timeout)
        result.stdout = result.stdout.decode('utf-8', 'replace')
        return result

    def test_healthy_mount(self):
        mount = self.mount()
        with open(self.p('data'), 'rb') as reader:  # keeps a shared hold
            self.assertEqual(len(reader.read(10)), 10)
            result = self.status(self.mnt)
            self.assertEqual(result.returncode, 0, result.stderr)
            self.assertIn('mount %s: answers' % self.mnt, result.stdout)
            self.assertIn('file %s\n' % self.h5path, result.stdout)
            self.assertIn('lock %s (redis' % self.h5path, result.stdout)
            self.assertIn('holds of this mount: 1\n', result.stdout)
            self.assertIn('pid=%d mount=%s' % (mount.proc.pid, self.mnt),
                          result.stdout)
            # The same through a relative path with a trailing slash, as JSON.
            result = self.run_tool(
                self.ctl, '--redis', self.redis.url(), 'status', '--json',
                os.path.basename(self.mnt) + '/', cwd=self.tmp)
            self.assertEqual(result.returncode, 0, result.stderr)
            status = json.loads(result.stdout)
            self.assertEqual(status['mount'], self.mnt)
            self.assertEqual(status['file'], self.h5path)
            self.assertEqual(status['state'], 'answers')
            self.assertTrue(status['answers'])
            self.assertEqual(status['lock']['key'], self.h5path)
            self.assertEqual([(h['mode'], h['pid'], h['mount'])
                              for h in status['lock']['holders']],
                             [('S', mount.proc.pid, self.mnt)])
        # The FILE form is what it was.
        result = self.status(self.h5path)
        self.assertEqual(result.returncode, 0, result.stderr)
        self.assertTrue(result.stdout.startswith('lock %s (redis'
                                                 % self.h5path))
        self.unmount(mount)

    def test_stopped_daemon_times_out(self):
        mount = self.mount()
        os.kill(mount.proc.pid, signal.SIGSTOP)
        try:
            started = time.monotonic()
            result = self.status('--timeout', '2', self.mnt, timeout=20)
            took = time.monotonic() - started
            again = self.status('--json', '--timeout', '1', self.mnt,
                                timeout=20)
        finally:
            os.kill(mount.proc.pid, signal.SIGCONT)
        self.assertEqual(result.returncode, 3, result.stdout + result.stderr)
        self.assertIn('does not answer', result.stdout)
        self.assertIn('within 2.000 s', result.stdout)
        self.assertIn('file %s\n' % self.h5path, result.stdout)
        self.assertGreaterEqual(took, 2.0)
        self.assertLess(took, 10.0)
        self.assertEqual(again.returncode, 3, again.stderr)
        self.assertEqual(json.loads(again.stdout)['state'], 'silent')
        # Woken up, it answers again.
        result = self.status(self.mnt)
        self.assertEqual(result.returncode, 0, result.stdout + result.stderr)
        self.unmount(mount)

    def test_a_request_the_daemon_holds_keeps_no_pipe_open(self):
        """The daemon read the check's request and holds it (a test-only pause
        in its statfs): the check's child cannot be killed while it waits for
        that answer, yet the check ends at --timeout, and so does a pipe that
        takes its output (a script's `| grep`): the child holds none of it."""
        use_fault_file(self)
        mount = self.mount()
        with open(self.fault_file, 'w') as out:
            out.write('pause statfs 6000')
        started = time.monotonic()
        result = self.status('--timeout', '1', self.mnt, timeout=20)
        took = time.monotonic() - started
        self.assertEqual(os.path.getsize(self.fault_file), 0,
                         'the daemon never read the request')
        self.assertEqual(result.returncode, 3, result.stdout + result.stderr)
        self.assertIn('does not answer', result.stdout)
        self.assertLess(took, 4.0, 'the output pipe stayed open')
        self.unmount(mount)

    def test_daemon_gone(self):
        mount = self.mount(errors=True)
        mount.proc.send_signal(signal.SIGKILL)
        mount.proc.wait(harness.EXIT_TIMEOUT)
        try:
            result = self.status(self.mnt)
            self.assertEqual(result.returncode, 4,
                             result.stdout + result.stderr)
            self.assertIn('its daemon is gone', result.stdout)
        finally:
            subprocess.run(['fusermount3', '-u', self.mnt],
                           capture_output=True)
            mount.stop(check_status=False)

    def test_not_a_mount_point(self):
        plain = os.path.join(self.tmp, 'plain')
        os.mkdir(plain)
        result = self.status(plain)
        self.assertEqual(result.returncode, 2, result.stderr)
        self.assertIn('not the mount point of an h5swmrfs mount',
                      result.stderr)
        result = self.status('/proc')
        self.assertEqual(result.returncode, 2, result.stderr)
        self.assertIn('mount point of a proc mount', result.stderr)
        self.mount()
        result = self.status(self.p('data'))
        self.assertEqual(result.returncode, 2, result.stderr)
        self.assertIn('inside the h5swmrfs mount %s' % self.mnt,
                      result.stderr)


if __name__ == '__main__':
    wh.main()
