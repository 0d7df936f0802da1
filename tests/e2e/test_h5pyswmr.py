#!/usr/bin/python3
"""`--lock h5pyswmr` beside programs on h5pySWMR's lock (docs/LOCKING.md,
"h5pySWMR backend"): h5pyswmr_client.py, a client of that protocol written
from its description, runs as separate processes beside a real mount.

1. Its writers rewrite /data in two halves with a pause between while cat
   and dd read it through the mount in a loop: no read sees a mix. The
   reverse: mount cp and >> while its readers read in two halves with h5py.
2. A mount read started while its writer holds the lock returns after the
   release, with the new content; a mount write started while its reader
   holds the lock finishes after it. What its writers change (new objects,
   a larger dataset) shows in the mount at once.
3. Writer preference both ways: readers that come after a waiting writer
   (a mount's, or the client's) go after it; and neither side's writer is
   starved by a continuous stream of the other's reads.
4. Afterwards the counters are 0 and no simple lock is left. A mount
   SIGKILLed while it reads leaves readcount at 1 and w to expire, as the
   docs say; `h5swmrfs-ctl --lock h5pyswmr break` recovers. status and run
   work on this backend.
"""

import errno
import mmap
import os
import signal
import subprocess
import tempfile
import threading
import time
import unittest

import harness
from test_coherence import metric

import numpy as np
import redis

N = 1024                 # elements of /data
DTYPE = '<i8'
CLIENT = os.path.join(harness.HERE, 'h5pyswmr_client.py')
WRITER = os.path.join(harness.HERE, 'locking_writer.py')
BLOCKED = 1.0            # seconds a blocked side must stay blocked
WAIT = 30.0
STARVED = 3.0            # a writer that waited longer than this was starved
WRITER_ENV = dict(harness.DAEMON_ENV)
WRITER_ENV.pop('HDF5_USE_FILE_LOCKING', None)
SIMPLE = ('mutex1', 'mutex2', 'mutex3', 'r', 'w')


def versions_of(data):
    if len(data) % 8:
        return {'bad length %d' % len(data)}
    return set(np.frombuffer(data, dtype=DTYPE).tolist())


def read_mount(path):
    """cat or dd of path: (status, bytes)."""
    if read_mount.flip:
        args = ['cat', path]
    else:
        args = ['dd', 'if=' + path, 'bs=4096', 'status=none']
    read_mount.flip = not read_mount.flip
    r = subprocess.run(args, stdin=subprocess.DEVNULL, capture_output=True, timeout=60)
    return r.returncode, r.stdout


read_mount.flip = True


class ReadLoop:
    """Reads through the mount again and again in a thread until stop()."""

    def __init__(self, path):
        self.path = path
        self.results = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self):
        while not self._stop.is_set():
            self.results.append(read_mount(self.path))

    def stop(self):
        self._stop.set()
        self._thread.join(60)
        return self.results


class H5pySWMR(unittest.TestCase):

    @classmethod
    def setUpClass(cls):
        if harness.SELFTEST:
            raise unittest.SkipTest('needs the daemon')
        harness.require_host()
        cls.tmpdir = tempfile.TemporaryDirectory(prefix='h5swmrfs-e2e-h5pyswmr-')
        cls.tmp = os.path.realpath(cls.tmpdir.name)
        cls.redis = harness.Redis().start()
        cls.r = redis.Redis(host='127.0.0.1', port=cls.redis.port, decode_responses=True)
        cls.h5 = os.path.join(cls.tmp, 'file.h5')   # canonical: F, the key
        with harness.h5py.File(cls.h5, 'w') as f:
            f.create_dataset('data', data=np.zeros(N, dtype=DTYPE), chunks=(256,), maxshape=(None,))
            f.create_dataset('other', data=np.zeros(N, dtype=DTYPE))
        cls.port = harness.free_port()
        cls.mount = cls.new_mount('mnt', ['--metrics', '127.0.0.1:%d' % cls.port])
        cls.data = os.path.join(cls.mount.mountpoint, 'data')

    @classmethod
    def new_mount(cls, name, extra=()):
        mnt = os.path.join(cls.tmp, name)
        os.mkdir(mnt)
        return harness.Mount(cls.h5, mnt, cls.redis.url(),
                             args=['--lock', 'h5pyswmr', '--lock-timeout', '30', *extra]).start()

    @classmethod
    def tearDownClass(cls):
        try:
            problems = cls.mount.stop()
            if problems:
                raise AssertionError('daemon problems:\n  ' + '\n  '.join(problems)
                                     + '\n--- daemon log ---\n' + cls.mount.log_text())
        finally:
            cls.redis.stop()
            cls.tmpdir.cleanup()

    def tearDown(self):
        self.assert_clean()

    # -- helpers ------------------------------------------------------------

    def key(self, what):
        return '%s__%s' % (what, self.h5)

    def lock_state(self):
        return {'readcount': int(self.r.get(self.key('readcount')) or 0),
                'writecount': int(self.r.get(self.key('writecount')) or 0),
                'keys': sorted(k for k in SIMPLE if self.r.exists(self.key(k)))}

    def assert_clean(self):
        """The counters back to 0, no simple lock left (the mount's kept
        idle read goes within a second)."""
        clean = {'readcount': 0, 'writecount': 0, 'keys': []}
        for _ in harness.deadline_loop(5.0):
            if self.lock_state() == clean:
                return
        self.assertEqual(self.lock_state(), clean)

    def client(self, *args):
        proc = subprocess.Popen([harness.PYTHON, CLIENT, self.redis.url(), self.h5, self.h5] + list(args),
                                stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                text=True, env=WRITER_ENV)
        self.addCleanup(self.end_client, proc)
        return proc

    @staticmethod
    def end_client(proc):
        if proc.poll() is None:
            proc.kill()
        proc.communicate()

    def wait_line(self, proc, prefix):
        for line in proc.stdout:
            if line.startswith(prefix):
                return line.split()
        self.fail('client exited without %r: %s' % (prefix, proc.stderr.read()))

    def finish(self, proc):
        out, err = proc.communicate(timeout=WAIT * 2)
        self.assertEqual(proc.returncode, 0, 'client failed:\n%s\n%s' % (out, err))
        return out.splitlines()

    def source(self, value, n=N):
        path = os.path.join(self.tmp, 'src-%d-%d' % (value, n))
        np.full(n, value, dtype=DTYPE).tofile(path)
        return path

    def assert_reads(self, value, n=N):
        status, out = read_mount(self.data)
        self.assertEqual(status, 0)
        self.assertEqual((versions_of(out), len(out)), ({value}, n * 8))

    def assert_no_mix(self, results, at_least):
        self.assertGreaterEqual(len(results), at_least, 'too few reads')
        for status, out in results:
            self.assertEqual(status, 0)
            self.assertEqual(len(out), N * 8)
            self.assertEqual(len(versions_of(out)), 1, 'a read saw a mix: %s' % sorted(versions_of(out))[:8])
        return {versions_of(out).pop() for _, out in results}

    def set_data(self, value):
        subprocess.run(['cp', self.source(value), self.data], check=True, timeout=WAIT)

    # -- 1. no mix ------------------------------------------------------------

    def test_1_its_writers_against_mount_reads(self):
        self.set_data(0)
        loop = ReadLoop(self.data)
        writer = self.client('write', '1', '--count', '5', '--pause', '0.15')
        lines = self.finish(writer)
        seen = self.assert_no_mix(loop.stop(), 5)
        self.assertEqual(len(lines), 5)
        self.assertTrue(seen & {1, 2, 3, 4, 5}, 'no read saw a write: %s' % seen)
        self.assert_reads(5)

    def test_1_mount_writes_against_its_readers(self):
        self.set_data(0)
        readers = [self.client('read', '--seconds', '3', '--pause', '0.1') for _ in range(2)]
        time.sleep(0.3)  # the readers are in their loops
        end = time.monotonic() + 2.5
        value = 1
        while time.monotonic() < end:
            self.set_data(value)
            subprocess.run('cat %s >> %s' % (self.source(value, 256), self.data), shell=True, check=True, timeout=WAIT)
            value += 1
        for reader in readers:
            lines = self.finish(reader)
            self.assertGreater(len(lines), 3)
        self.assert_reads(value - 1, N + 256)
        self.set_data(0)

    # -- 2. each waits for the other ----------------------------------------

    def test_2_mount_read_waits_for_its_writer(self):
        self.set_data(0)
        holder = self.client('hold-write', '7')
        self.wait_line(holder, 'held')
        cat = subprocess.Popen(['cat', self.data], stdout=subprocess.PIPE)
        time.sleep(BLOCKED)
        self.assertIsNone(cat.poll(), 'the mount read while the writer held the lock')
        holder.stdin.write('go\n')
        holder.stdin.flush()
        self.assertEqual(self.wait_line(holder, 'released'), ['released', '7'])
        out, _ = cat.communicate(timeout=WAIT)
        self.assertEqual(versions_of(out), {7})
        self.finish(holder)

    def test_2_mount_write_waits_for_its_reader_and_later_readers_wait_for_it(self):
        self.set_data(0)
        holder = self.client('hold-read')
        self.wait_line(holder, 'held')
        cp = subprocess.Popen(['cp', self.source(8), self.data])
        time.sleep(BLOCKED)
        self.assertIsNone(cp.poll(), 'the mount wrote while a reader held the lock')
        # The mount waits as an h5pySWMR writer: counted, and r taken for the writers...
        self.assertEqual(self.r.get(self.key('writecount')), '1')
        self.assertEqual(self.r.get(self.key('r')), 'id_writer')
        # ... so a reader that comes now goes after it.
        later = self.client('read', '--seconds', '0.01', '--pause', '0')
        time.sleep(0.5)
        holder.stdin.write('go\n')
        holder.stdin.flush()
        self.assertEqual(self.wait_line(holder, 'released'), ['released', '0'])
        self.assertEqual(cp.wait(WAIT), 0)
        self.assertEqual(self.finish(later)[0].split()[:2], ['read', '8'])
        self.finish(holder)
        self.assert_reads(8)

    def test_2_mount_sees_the_structure_its_writers_change(self):
        self.set_data(3)
        self.assert_reads(3)  # the mount has the file open, its metadata read
        self.assertEqual(self.finish(self.client('grow', 'grown', '4', '256')), [])
        status, out = read_mount(os.path.join(self.mount.mountpoint, 'grown'))
        self.assertEqual((status, versions_of(out)), (0, {4}))
        status, out = read_mount(self.data)
        self.assertEqual(len(out), (N + 256) * 8)
        self.assertEqual(versions_of(out), {3, 4})
        self.set_data(0)

    # -- 3. writer preference, no starvation --------------------------------

    def test_3_mount_readers_after_its_waiting_writer_go_after_it(self):
        self.set_data(0)
        other = os.path.join(self.mount.mountpoint, 'other')
        notices = metric(self.port, 'h5swmrfs_lock_writer_notices_total')
        with open(self.data, 'rb') as pinned:   # a mount read in progress
            pinned.read(8)
            writer = self.client('write', '40', '--pause', '0')
            for _ in harness.deadline_loop(5.0):
                if self.r.get(self.key('r')) == 'id_writer':
                    break
            # ... and the mount has seen it (its watch of writecount runs every 10 ms):
            # a read that came before would join the mount's hold, as it would have if it
            # had begun before the writer.
            for _ in harness.deadline_loop(5.0):
                if metric(self.port, 'h5swmrfs_lock_writer_notices_total') > notices:
                    break
            else:
                self.fail('the mount never heard that the writer waits')
            # Another dataset: a read of /data could go on under the pinned hold.
            cat = subprocess.Popen(['cat', other], stdout=subprocess.PIPE)
            time.sleep(0.3)
        out, _ = cat.communicate(timeout=WAIT)
        self.assertEqual(versions_of(out), {40}, 'a mount read came before the waiting writer')
        self.finish(writer)

    def test_3_its_writer_not_starved_by_mount_reads(self):
        self.set_data(0)
        loops = [ReadLoop(self.data) for _ in range(2)]
        time.sleep(0.3)
        lines = self.finish(self.client('write', '20', '--count', '3', '--pause', '0.05'))
        seen = self.assert_no_mix([r for loop in loops for r in loop.stop()], 5)
        waits = [float(line.split()[2]) for line in lines]
        self.assertEqual(len(waits), 3, lines)
        self.assertLess(max(waits), STARVED, 'the writer waited %s s behind mount reads' % waits)
        self.assertTrue(seen & {20, 21, 22})

    def test_3_mount_writer_not_starved_by_its_reads(self):
        self.set_data(0)
        readers = [self.client('read', '--seconds', '4', '--pause', '0.05') for _ in range(3)]
        time.sleep(0.8)
        for value in (30, 31, 32):
            start = time.monotonic()
            self.set_data(value)
            self.assertLess(time.monotonic() - start, STARVED, 'cp starved behind h5pySWMR readers')
        for reader in readers:
            self.finish(reader)
        self.assert_reads(32)

    # -- 4. what is left, a killed mount, ctl -------------------------------

    def test_4_killed_mount_and_break(self):
        self.set_data(0)
        self.assert_clean()
        mount = self.new_mount('killed')
        data = os.path.join(mount.mountpoint, 'data')
        pinned = open(data, 'rb')
        pinned.read(8)
        self.assertEqual(self.lock_state(), {'readcount': 1, 'writecount': 0, 'keys': ['w']})
        mount.proc.send_signal(signal.SIGKILL)
        mount.proc.wait(WAIT)
        try:
            pinned.close()
        except OSError:
            pass
        subprocess.run(['fusermount3', '-uz', mount.mountpoint], capture_output=True)
        mount.log.close()
        # What the docs say: the count stays, w expires within 20 s (nobody keeps it alive).
        self.assertEqual(self.lock_state(), {'readcount': 1, 'writecount': 0, 'keys': ['w']})
        self.assertEqual(self.r.get(self.key('w')), 'id_reader')
        self.assertTrue(0 < self.r.pttl(self.key('w')) <= 20000)
        status = subprocess.run([harness.ctl_path(), '--redis', self.redis.url(), '--lock', 'h5pyswmr',
                                 'status', self.h5], capture_output=True, text=True, timeout=WAIT)
        self.assertEqual(status.returncode, 0, status.stderr)
        self.assertIn('readcount=1', status.stdout)
        self.assertIn('w: id_reader', status.stdout)
        # Writers are kept out by the dead reader's w ...
        self.assertEqual(self.client('try-write', '--timeout', '0.5').wait(WAIT), 5)
        broke = subprocess.run([harness.ctl_path(), '--redis', self.redis.url(), '--lock', 'h5pyswmr',
                                'break', self.h5], capture_output=True, text=True, timeout=WAIT)
        self.assertEqual(broke.returncode, 0, broke.stderr)
        self.assertRegex(broke.stdout, r'deleted [1-7] of its 7 keys')
        # ... until the break.
        self.assertEqual(self.client('try-write', '--timeout', '2').wait(WAIT), 0)
        self.set_data(9)
        self.assert_reads(9)

    def test_4_cache_refused(self):
        mnt = os.path.join(self.tmp, 'cached')
        os.mkdir(mnt)
        status, _, err = harness.run_daemon_to_exit(['--redis', self.redis.url(), '--lock', 'h5pyswmr', '--cache',
                                                     self.h5, mnt], mnt)
        self.assertEqual(status, 1)
        self.assertEqual(err.strip().splitlines(),
                         ['h5swmrfs: error: --cache cannot be used with --lock h5pyswmr: h5pySWMR programs would not '
                          'wait for this mount to drop what the kernel cached'])
        # Without --cache or --no-cache such a mount does not cache: it cannot be mapped.
        with open(self.data, 'rb') as f:
            with self.assertRaises(OSError) as raised:
                mmap.mmap(f.fileno(), 0, prot=mmap.PROT_READ)
        self.assertEqual(raised.exception.errno, errno.ENODEV)

    def test_4_ctl_run(self):
        ctl = [harness.ctl_path(), '--redis', self.redis.url(), '--lock', 'h5pyswmr']
        run = subprocess.run(ctl + ['run', '--exclusive', self.h5, '--', harness.PYTHON, WRITER, self.h5, 'data', '50'],
                             capture_output=True, text=True, timeout=WAIT, env=WRITER_ENV)
        self.assertEqual(run.returncode, 0, run.stderr)
        self.assert_reads(50)
        # Its writers cannot get in while `run --exclusive` holds the lock.
        holder = subprocess.Popen(ctl + ['run', '--exclusive', self.h5, '--', harness.PYTHON, WRITER, self.h5,
                                         'data', '51', '--hold'],
                                  stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                  text=True, env=WRITER_ENV)
        self.addCleanup(self.end_client, holder)
        self.wait_line(holder, 'ready')
        self.assertEqual(self.client('try-write', '--timeout', '0.5').wait(WAIT), 5)
        holder.stdin.write('go\n')
        holder.stdin.flush()
        self.finish(holder)
        self.assert_reads(51)
        # A writer cannot get in while `run --shared` holds the lock.
        run = subprocess.run(ctl + ['run', '--shared', self.h5, '--', harness.PYTHON, CLIENT, self.redis.url(),
                                    self.h5, self.h5, 'try-write', '--timeout', '0.5'],
                             capture_output=True, text=True, timeout=WAIT, env=WRITER_ENV)
        self.assertEqual(run.returncode, 5, run.stderr)
        self.set_data(0)


if __name__ == '__main__':
    harness.main()
