#!/usr/bin/python3
"""The lock through real mounts (SPEC.md sections 5 and 6, docs/LOCKING.md):
two daemons on one file and `h5swmrfs-ctl run --exclusive` around an h5py
writer (locking_writer.py) — with redis and with `--lock local`; a read
during the writer's hold waits for it and then sees the new bytes, a read
after it sees them on every mount, no read sees a mixture of two versions;
`h5swmrfs-ctl status` shows a reading mount; redis going away gives EIO
after --lock-timeout and the mount recovers when it is back (a lease later:
the restarted redis lost the lock's state); a lock held
past --lock-timeout gives EBUSY; the redis commands per `cat` (printed);
a reader with the file open while a writer queues goes on, and one left
open does not keep writers out.

Every wait is a poll of a condition with a deadline. The read that must
wait is checked by ordering, not timing: the writer writes only after the
test's go signal, so a read that did not wait would see the old bytes.
"""

import json
import os
import select
import subprocess
import tempfile
import threading
import time
import unittest

import harness

import numpy as np

N = 1024                 # elements of /data: 8 KiB, one read request
DTYPE = '<i8'
LEASE = '2'
LOCK_TIMEOUT = '10'      # mounts' --lock-timeout, unless a test sets its own
WRITER = os.path.join(harness.HERE, 'locking_writer.py')
BLOCKED_WINDOW = 1.0     # seconds a read must stay blocked behind a writer
WAIT = 20.0              # deadline of the waits for a condition

# The writer runs with HDF5 file locking as the user has it (harness.py
# switched it off for this process only, so that h5py here and the daemons
# do not exclude each other).
WRITER_ENV = dict(harness.DAEMON_ENV)
WRITER_ENV.pop('HDF5_USE_FILE_LOCKING', None)

# What the daemon logs for an operation that could not get the lock because
# redis was away (test_3_redis_goes_away); nothing else may look like an error.
REDIS_AWAY_ERRORS = (r'error: \w+: lock .*: redis at .* is unreachable',)


def values(value):
    return np.full(N, value, dtype=DTYPE).tobytes()


def differs(expected, got):
    """None when equal, else a short account of the difference."""
    return harness.describe_bytes_difference(expected, got, itemsize=8)


def versions_of(data):
    """The set of element values in bytes read from /data."""
    if len(data) % 8:
        return {'bad length %d' % len(data)}
    return set(np.frombuffer(data, dtype=DTYPE).tolist())


class Ctl:
    """`h5swmrfs-ctl [lock args] run --exclusive FILE -- locking_writer.py`
    with stdin and stdout piped, so the test sees 'ready' and sends 'go'."""

    def __init__(self, lock_args, h5file, value, hold):
        args = [harness.ctl_path()] + list(lock_args) + \
            ['run', '--exclusive', h5file, '--', harness.PYTHON, WRITER,
             h5file, 'data', str(value)]
        if hold:
            args.append('--hold')
        self.args = args
        self.proc = subprocess.Popen(args, stdin=subprocess.PIPE,
                                     stdout=subprocess.PIPE,
                                     stderr=subprocess.PIPE,
                                     env=WRITER_ENV)
        self.out = b''
        self.result = None

    def wait_line(self, line, timeout=WAIT):
        """True once the writer printed line; False if it exited first or
        the deadline passed."""
        want = line.encode() + b'\n'
        fd = self.proc.stdout.fileno()
        end = time.monotonic() + timeout
        while want not in self.out:
            left = end - time.monotonic()
            if left <= 0:
                return False
            ready, _, _ = select.select([fd], [], [], left)
            if ready:
                chunk = os.read(fd, 4096)
                if not chunk:
                    return False
                self.out += chunk
        return True

    def go(self):
        self.proc.stdin.write(b'go\n')
        self.proc.stdin.flush()

    def finish(self, timeout=WAIT):
        """Exit status, stdout, stderr (stdin closed: a writer still waiting
        for its go signal gives up)."""
        if self.result is not None:
            return self.result
        if self.proc.stdin is not None:
            try:
                self.proc.stdin.close()
            except OSError:
                pass
            self.proc.stdin = None
        try:
            out, err = self.proc.communicate(timeout=timeout)
            status = self.proc.returncode
        except subprocess.TimeoutExpired:
            # h5swmrfs-ctl does not act on SIGTERM while it waits for the
            # lock; do not wait long for it.
            harness._stop_pid(self.proc, timeout=2)
            out, err = self.proc.communicate()
            status = 'hung'
        self.result = (status, self.out + out, err.decode('utf-8', 'replace'))
        return self.result


class Cat:
    """`cat PATH` in the background."""

    def __init__(self, path):
        self.path = path
        self.started = time.monotonic()
        self.proc = subprocess.Popen(['cat', path], stdin=subprocess.DEVNULL,
                                     stdout=subprocess.PIPE,
                                     stderr=subprocess.PIPE)

    def running(self):
        return self.proc.poll() is None

    def state(self):
        """The process state letter and wait channel, for messages."""
        try:
            with open('/proc/%d/stat' % self.proc.pid) as f:
                state = f.read().rsplit(')', 1)[1].split()[0]
            with open('/proc/%d/wchan' % self.proc.pid) as f:
                return '%s (%s)' % (state, f.read())
        except OSError:
            return 'gone'

    def kill(self):
        """Clean-up: end it (by its PID) if it still runs."""
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()

    def result(self, timeout=WAIT):
        try:
            out, err = self.proc.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            harness._stop_pid(self.proc)
            out, err = self.proc.communicate()
            return 'hung', out, err.decode('utf-8', 'replace')
        return self.proc.returncode, out, err.decode('utf-8', 'replace')


def cat(path, timeout=60):
    """(status, stdout bytes, stderr text, seconds)."""
    start = time.monotonic()
    result = subprocess.run(['cat', path], stdin=subprocess.DEVNULL,
                            capture_output=True, timeout=timeout)
    return result.returncode, result.stdout, \
        result.stderr.decode('utf-8', 'replace'), time.monotonic() - start


class CatLoop:
    """`cat PATH` again and again in a thread until stop()."""

    def __init__(self, path):
        self.path = path
        self.results = []   # (status, bytes, stderr, seconds)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self):
        while not self._stop.is_set():
            self.results.append(cat(self.path, timeout=60))

    def stop(self):
        self._stop.set()
        self._thread.join(90)


class Locking(unittest.TestCase):

    @classmethod
    def setUpClass(cls):
        if harness.SELFTEST:
            raise unittest.SkipTest('needs the daemon')
        harness.require_host()
        cls.tmpdir = tempfile.TemporaryDirectory(prefix='h5swmrfs-e2e-lock-')
        cls.tmp = os.path.realpath(cls.tmpdir.name)
        cls.redis = harness.Redis().start()

    @classmethod
    def tearDownClass(cls):
        cls.redis.stop()
        cls.tmpdir.cleanup()

    # -- set-up helpers (each registers its own clean-up) ------------------

    def new_dir(self):
        return tempfile.mkdtemp(prefix=self._testMethodName + '-',
                                dir=self.tmp)

    def new_file(self, where, value=0):
        path = os.path.join(where, 'file.h5')
        with harness.h5py.File(path, 'w') as f:
            f.create_dataset('data', data=np.full(N, value, dtype=DTYPE))
        return path

    def mount(self, h5file, name, redis_url, args=(), expected_errors=()):
        mnt = os.path.join(os.path.dirname(h5file), name)
        os.mkdir(mnt)
        args = list(args)
        if '--lock-timeout' not in args:
            args += ['--lock-timeout', LOCK_TIMEOUT]
        mount = harness.Mount(h5file, mnt, redis_url,
                              args=['--lease', LEASE] + args,
                              expected_errors=expected_errors)
        mount.start()
        self.addCleanup(self.stop_mount, mount)
        return mount

    def stop_mount(self, mount):
        problems = mount.stop()
        self.assertEqual(problems, [], 'daemon problems; log:\n'
                         + mount.log_text())

    def ctl(self, lock_args, h5file, value, hold=False):
        ctl = Ctl(lock_args, h5file, value, hold)
        self.addCleanup(ctl.finish)
        return ctl

    def own_redis(self):
        redis = harness.Redis().start()
        self.addCleanup(redis.stop)
        return redis

    # -- checks --------------------------------------------------------------

    def assert_reads(self, path, value, what):
        status, out, err, _ = cat(path)
        self.assertEqual(status, 0, '%s: cat %s failed: %s' % (what, path,
                                                                err))
        self.assertEqual(versions_of(out), {value},
                         '%s: cat %s' % (what, path))
        self.assertIsNone(differs(values(value), out), what)

    def assert_still_blocked(self, cats):
        for c in cats:
            if not c.running():
                took = time.monotonic() - c.started
                status, out, err = c.result()
                self.fail('cat %s ended %.2fs after it started, while the '
                          'writer held the lock: status %s, values %s, %s'
                          % (c.path, took, status, versions_of(out),
                             err.strip()))

    def run_writer(self, lock_args, h5file, value):
        """Runs the writer under h5swmrfs-ctl; returns its seconds."""
        start = time.monotonic()
        ctl = self.ctl(lock_args, h5file, value)
        status, out, err = ctl.finish(timeout=60)
        self.assertEqual((status, out), (0, b'done\n'),
                         'writer under %s failed after %.1fs:\n%s'
                         % (ctl.args, time.monotonic() - start, err))
        return time.monotonic() - start

    def check_writer_and_readers(self, lock_args, h5file, mounts):
        """1a, 1b and 1c of the brief, for any backend: the mounts are up
        and have the file open; the writer opens it r+ and rewrites /data;
        every read after it sees the new bytes; a read started during the
        writer's hold waits for it."""
        datas = [os.path.join(m.mountpoint, 'data') for m in mounts]
        for path in datas:  # every daemon has the file open now
            self.assert_reads(path, 0, 'before any write')

        # (a) + (b): h5py opens r+ with its file locking on, with both mounts
        # up and idle; reads that start after the command returned see it.
        self.run_writer(lock_args, h5file, 1)
        for path in datas:
            self.assert_reads(path, 1, 'after the writer returned')

        # (c) a read started while the writer holds the lock waits for it.
        ctl = self.ctl(lock_args, h5file, 2, hold=True)
        if not ctl.wait_line('ready'):
            self.fail('writer did not get the lock: %r' % (ctl.finish(),))
        cats = [Cat(path) for path in datas]
        for c in cats:
            self.addCleanup(c.kill)
        for _ in harness.deadline_loop(BLOCKED_WINDOW):
            self.assert_still_blocked(cats)
        states = [c.state() for c in cats]
        self.assert_still_blocked(cats)  # just before go
        ctl.go()
        status, out, err = ctl.finish()
        self.assertEqual((status, out), (0, b'ready\ndone\n'), err)
        for c, state in zip(cats, states):
            status, out, err = c.result()
            self.assertEqual(status, 0, 'cat %s: %s' % (c.path, err))
            self.assertIsNone(differs(values(2), out),
                              'cat %s (blocked in %s) did not wait for the '
                              'writer: values %s' % (c.path, state,
                                                     versions_of(out)))

    # -- 1: two redis mounts and an h5py writer under h5swmrfs-ctl -----------

    def test_1_writer_between_two_mounts(self):
        where = self.new_dir()
        h5 = self.new_file(where)
        mounts = [self.mount(h5, 'mnt-a', self.redis.url()),
                  self.mount(h5, 'mnt-b', self.redis.url())]
        lock_args = ['--redis', self.redis.url(), '--lease', LEASE]
        self.check_writer_and_readers(lock_args, h5, mounts)

        # (d) no read sees a mixture: cat loops on both mounts while the
        # writer rewrites /data with version v (all elements v) in pieces.
        loops = [CatLoop(os.path.join(m.mountpoint, 'data')) for m in mounts]
        writer_seconds = []
        try:
            for v in range(3, 9):
                writer_seconds.append(self.run_writer(lock_args, h5, v))
                for m in mounts:
                    self.assert_reads(os.path.join(m.mountpoint, 'data'), v,
                                      'version %d returned' % v)
        finally:
            for loop in loops:
                loop.stop()
        print('  writers under h5swmrfs-ctl took %s s'
              % ', '.join('%.2f' % t for t in writer_seconds))
        for loop in loops:
            failed = [(err.strip(), round(took, 2))
                      for status, out, err, took in loop.results if status]
            slowest = max([r[3] for r in loop.results] or [0])
            print('  cat loop on %s: %d reads, %d failed, slowest %.2fs'
                  % (loop.path, len(loop.results), len(failed), slowest))
            self.assertEqual(failed, [], 'cats that failed on %s (error, '
                             'seconds)' % loop.path)
            seen = []
            for status, out, err, took in loop.results:
                got = versions_of(out)
                self.assertEqual(len(got), 1, 'cat %s saw a mixture: %s'
                                 % (loop.path, sorted(got, key=str)))
                self.assertEqual(len(out), N * 8)
                seen.append(got.pop())
            self.assertEqual(seen, sorted(seen),
                             'versions went backwards on %s' % loop.path)
            print('    versions seen: %s' % sorted(set(seen)))
            self.assertGreater(len(seen), 0)

    # -- 2: h5swmrfs-ctl status ----------------------------------------------

    def status(self, h5file, *lock_args):
        result = subprocess.run(
            [harness.ctl_path(), '--redis', self.redis.url()]
            + list(lock_args) + ['status', h5file, '--json'],
            capture_output=True, text=True, timeout=30)
        self.assertEqual(result.returncode, 0, result.stderr)
        return json.loads(result.stdout)

    def test_2_status_shows_reading_mount(self):
        where = self.new_dir()
        h5 = self.new_file(where)
        # Uncached: an idle mount gives its shared hold back (a caching one
        # keeps it until someone needs the lock).
        mount = self.mount(h5, 'mnt', self.redis.url(), args=['--no-cache'])
        label = os.path.realpath(mount.mountpoint)

        def ours(status):
            return [h for h in status['holders']
                    if h['mount'] == label and h['mode'] == 'S'
                    and h['state'] == 'holding'
                    and h['pid'] == mount.proc.pid]

        loop = CatLoop(os.path.join(mount.mountpoint, 'data'))
        try:
            status = None
            for _ in harness.deadline_loop(WAIT, pause=0.05):
                status = self.status(h5)
                if ours(status):
                    break
            self.assertTrue(ours(status), 'mount not shown as a holder '
                            'while reading: %s' % status)
            self.assertEqual(status['key'], h5)
            self.assertEqual(status['backend'], 'redis')
            self.assertEqual(status['waiting'], [])
            text = subprocess.run(
                [harness.ctl_path(), '--redis', self.redis.url(), 'status',
                 h5], capture_output=True, text=True, timeout=30)
            self.assertEqual(text.returncode, 0, text.stderr)
            print('  status while reading:\n    '
                  + text.stdout.rstrip().replace('\n', '\n    '))
        finally:
            loop.stop()
        self.assertTrue(loop.results and all(r[0] == 0
                                             for r in loop.results))
        # Idle: the kept hold goes after keep_idle (1 s).
        for _ in harness.deadline_loop(WAIT, pause=0.1):
            status = self.status(h5)
            if not status['holders']:
                break
        self.assertEqual(status['holders'], [], 'idle mount still holds')
        self.assertEqual(status['waiting'], [])

    # -- 3: redis goes away and comes back -------------------------------------

    def test_3_redis_goes_away(self):
        redis = self.own_redis()
        where = self.new_dir()
        h5 = self.new_file(where)
        # Longer than the lease: the first read after redis is back waits a lease.
        mount = self.mount(h5, 'mnt', redis.url(),
                           args=['--lock-timeout', '4'],
                           expected_errors=REDIS_AWAY_ERRORS)
        data = os.path.join(mount.mountpoint, 'data')
        lock_args = ['--redis', redis.url(), '--lease', LEASE]
        self.run_writer(lock_args, h5, 5)   # the lock's generation is 1 now
        self.assert_reads(data, 5, 'before redis stops')

        redis.pause_server()
        status, out, err, took = cat(data)
        self.assertNotEqual(status, 0, 'cat worked without redis: %d bytes'
                            % len(out))
        self.assertIn('Input/output error', err)
        self.assertGreaterEqual(took, 1.5, 'failed before --lock-timeout: '
                                + err)
        self.assertLess(took, 15, 'took far longer than --lock-timeout 4')
        print('  without redis: cat failed after %.2fs: %s'
              % (took, err.strip()))

        restarted = time.monotonic()
        redis.resume_server()
        status, out, err, took = cat(data)
        self.assertEqual(status, 0, 'cat after redis came back: ' + err)
        self.assertIsNone(differs(values(5), out))
        print('  redis back: cat worked after %.2fs' % took)
        # The new redis has no record of the lock, but the mount saw a later
        # generation: a hold redis forgot may be in use for a lease.
        self.assertGreaterEqual(time.monotonic() - restarted,
                                float(LEASE) - 0.05, 'granted at once')

        # The restarted redis forgot the generation (it starts at 0 again);
        # one write takes it back to 1, the generation the mount's view has
        # from before. The next read must still see the new bytes.
        self.run_writer(lock_args, h5, 6)
        self.assert_reads(data, 6, 'first write after the redis restart')

    # -- 4: the local backend --------------------------------------------------

    def test_4_local_backend(self):
        where = self.new_dir()
        h5 = self.new_file(where)
        mounts = [self.mount(h5, 'mnt-a', None, args=['--lock', 'local']),
                  self.mount(h5, 'mnt-b', None, args=['--lock', 'local'])]
        lock_args = ['--lock', 'local']
        self.check_writer_and_readers(lock_args, h5, mounts)

    # -- 5: the lock stays taken past --lock-timeout -------------------------

    def test_5_lock_timeout_gives_ebusy(self):
        where = self.new_dir()
        h5 = self.new_file(where, value=3)
        mount = self.mount(h5, 'mnt', self.redis.url(),
                           args=['--lock-timeout', '1'])
        data = os.path.join(mount.mountpoint, 'data')
        self.assert_reads(data, 3, 'before the hold')
        lock_args = ['--redis', self.redis.url(), '--lease', LEASE]
        ctl = self.ctl(lock_args, h5, '-', hold=True)
        if not ctl.wait_line('ready'):
            self.fail('ctl did not get the lock: %r' % (ctl.finish(),))
        status, out, err, took = cat(data)
        self.assertNotEqual(status, 0, 'cat worked while the lock was held '
                            'exclusively: %s' % versions_of(out))
        self.assertIn('Device or resource busy', err)
        self.assertGreaterEqual(took, 0.8, 'failed before --lock-timeout')
        print('  lock held: cat failed after %.2fs: %s' % (took, err.strip()))
        ctl.go()
        status, out, err = ctl.finish()
        self.assertEqual((status, out), (0, b'ready\ndone\n'), err)
        self.assert_reads(data, 3, 'after the hold ended')

    # -- 6: redis commands per cat -------------------------------------------

    # Commands of ours, left out of the counts: CONFIG RESETSTAT, INFO, and
    # EXISTS to see the holders hash go (the lock scripts do not call it).
    OURS = ('config', 'info', 'exists')
    # What a client sends itself; everything else in commandstats ran inside
    # those scripts.
    ROUND_TRIPS = ('evalsha', 'eval', 'script', 'subscribe', 'ping', 'auth',
                   'select', 'hello', 'client')

    def commandstats(self, client):
        """{command: calls} since the last CONFIG RESETSTAT, without ours."""
        counted = {}
        for name, entry in client.info('commandstats').items():
            name = name[len('cmdstat_'):] if name.startswith('cmdstat_') \
                else name
            if name.split('|')[0] not in self.OURS:
                counted[name] = entry['calls']
        return counted

    def describe_counts(self, counted):
        trips = sum(n for c, n in counted.items()
                    if c.split('|')[0] in self.ROUND_TRIPS)
        return '%d round trip(s) (%s), %d commands inside scripts' % (
            trips, ', '.join('%s %d' % (c, n) for c, n in
                             sorted(counted.items())
                             if c.split('|')[0] in self.ROUND_TRIPS)
            or 'none',
            sum(counted.values()) - trips)

    def test_6_round_trips(self):
        import redis as redis_py
        redis = self.own_redis()
        where = self.new_dir()
        h5 = self.new_file(where)
        mount = self.mount(h5, 'mnt', redis.url(), args=['--no-cache'])
        data = os.path.join(mount.mountpoint, 'data')
        client = redis_py.Redis(host='127.0.0.1', port=redis.port)
        self.addCleanup(client.close)
        holders = 'h5swmr:{%s}:holders' % h5

        def wait_idle():
            for _ in harness.deadline_loop(WAIT, pause=0.05):
                if not client.exists(holders):
                    return
            self.fail('the idle mount still holds the lock')

        self.assert_reads(data, 0, 'first read')  # the daemon opens the file
        last_op = time.monotonic()
        # The kept shared hold (keep_idle 1 s) goes; then the mount stays idle
        # until more than 2 s have passed since its last operation.
        wait_idle()
        time.sleep(max(0.0, 2.2 - (time.monotonic() - last_op)))

        client.config_resetstat()
        self.assert_reads(data, 0, 'counted read, mount idle')
        idle = self.commandstats(client)
        client.config_resetstat()
        self.assert_reads(data, 0, 'counted read, right after another')
        warm = self.commandstats(client)
        client.config_resetstat()
        wait_idle()
        release = self.commandstats(client)

        print('  redis commands per cat of an 8 KiB dataset (lease %s s):'
              % LEASE)
        for what, counted in (('mount idle > 2 s', idle),
                              ('right after another', warm),
                              ('then until the kept hold is gone', release)):
            print('    %-33s %s' % (what + ':', self.describe_counts(counted)))
            print('    %-33s %s' % ('', counted))
        self.assertGreater(sum(idle.values()), 0)


    # -- 7: a reader with the file open while a writer queues ----------------

    def wait_writer_queued(self, h5):
        for _ in harness.deadline_loop(WAIT, pause=0.05):
            if any(w['mode'] == 'X' for w in self.status(h5)['waiting']):
                return
        self.fail('the writer never showed as waiting')

    def test_7_open_reader_and_queued_writer(self):
        """What cat does (open, fstat, read, close) with a writer queuing
        between its open and its fstat: the reader's open is a read in
        flight that the writer waits for, so its own fstat and read go on
        and see one version."""
        where = self.new_dir()
        h5 = self.new_file(where)
        mount = self.mount(h5, 'mnt', self.redis.url())
        data = os.path.join(mount.mountpoint, 'data')
        lock_args = ['--redis', self.redis.url(), '--lease', LEASE]
        fd = os.open(data, os.O_RDONLY)
        try:
            writer = self.ctl(lock_args, h5, 1)
            self.wait_writer_queued(h5)
            start = time.monotonic()
            try:
                size = os.fstat(fd).st_size
                got = os.read(fd, 1 << 20)
            except OSError as e:
                self.fail('open reader failed %.2fs after its fstat with a '
                          'writer queued: %s' % (time.monotonic() - start, e))
            print('  open reader, writer queued: fstat + read took %.2fs'
                  % (time.monotonic() - start))
            self.assertEqual(size, N * 8)
            self.assertEqual(len(versions_of(got)), 1, versions_of(got))
            self.assertEqual(len(got), N * 8)
        finally:
            os.close(fd)
        status, out, err = writer.finish()
        self.assertEqual((status, out), (0, b'done\n'), err)
        self.assert_reads(data, 1, 'after the writer')

    def test_8_reader_left_open_after_a_writer(self):
        """A reader that stays open does not keep a writer out for ever
        (the mount cuts its hold after a grace of --lock-timeout / 4) — also
        when the writer comes soon after another writer."""
        where = self.new_dir()
        h5 = self.new_file(where)
        mount = self.mount(h5, 'mnt', self.redis.url())
        data = os.path.join(mount.mountpoint, 'data')
        lock_args = ['--redis', self.redis.url(), '--lease', LEASE]

        # A first writer queues behind an open reader, which then closes.
        fd = os.open(data, os.O_RDONLY)
        try:
            writer = self.ctl(lock_args, h5, 1)
            self.wait_writer_queued(h5)
        finally:
            os.close(fd)
        status, out, err = writer.finish()
        self.assertEqual((status, out), (0, b'done\n'), err)

        # At once a reader opens and stays open; the next writer gets in.
        fd = os.open(data, os.O_RDONLY)
        try:
            start = time.monotonic()
            writer = self.ctl(lock_args, h5, 2)
            status, out, err = writer.finish(timeout=2 * int(LOCK_TIMEOUT))
            self.assertEqual(
                (status, out), (0, b'done\n'),
                'writer kept out %.1fs by a reader that stays open: %s'
                % (time.monotonic() - start, err))
            print('  writer behind a reader left open got in after %.2fs'
                  % (time.monotonic() - start))
        finally:
            os.close(fd)
        self.assert_reads(data, 2, 'after the second writer')


if __name__ == '__main__':
    harness.main()
