#!/usr/bin/python3
"""What the lock must survive (SPEC.md section 6, docs/LOCKING.md "Guarantees
and their limits"), through two mounts of one file:

- redis restarted without its data, or reloading an older snapshot, while
  the mounts stay up: nothing is granted for a lease after the restart;
  then a writer replacing a dataset through one mount, the other mount
  appending to an unrelated dataset and reading the first. Every read
  gives one whole version, never bytes of two, and never a version older
  than one whose close() had returned before the read began. (Before
  generations were made unique, the reused numbers fooled the reading
  mount's check of its own writes and its cached view.)
- redis restarted from a snapshot older than a commit in progress: the
  next writer (another mount) gets in only after the committing mount's
  lease has run out; the file stays readable by h5dump and holds one
  commit after the other.
- `h5swmrfs-ctl break` during a commit: no second writer is let in while
  the broken one may still write; the file stays readable by h5dump and
  holds one commit after the other.
- a redis that stops answering (SIGSTOP): an operation fails with EIO after
  --lock-timeout, not later.
"""

import errno
import os
import signal
import subprocess
import threading
import time

import write_harness as wh
from write_harness import WriteTestCase

import numpy as np

SIZE = 8 << 20          # bytes of /c: many read requests per cat
ROW = 64                # bytes per row of /a
LEASE = '3'
SLACK = 0.05            # seconds: the server's clock against ours, rounding
RACE_SECONDS = 6.0     # how long the writer, appender and reader race at least
RACE_LIMIT = 60.0       # ... and at most
MIN_READS = 5           # whole cats the race must complete to mean anything


def build_race_file(f):
    f.create_dataset('c', data=np.zeros(SIZE, dtype='u1'))  # contiguous
    f.create_dataset('a', shape=(0, ROW), maxshape=(None, ROW), dtype='u1',
                     chunks=(64, ROW))


class Race:
    """A writer that replaces m2/c with uniform bytes of a new value each
    time (recording when each close began and returned), an appender to
    m3/a, and cats of m3/c: each cat must hold one value, one that was
    current at some moment while it ran."""

    def __init__(self, m2, m3, current):
        self.m2, self.m3 = m2, m3
        self.stop = threading.Event()
        # [open began, close returned (None while it runs), value], in order;
        # `current` was committed before. Changed and read under `clock`, which
        # also takes a read's start: a commit that returned before a read began
        # is marked so before that read's time is taken.
        self.commits = [[0.0, 0.0, current]]
        self.clock = threading.Lock()
        self.errors = []         # what the writer and appender saw fail
        self.appends = 0

    def now(self):
        with self.clock:
            return time.monotonic()

    def write_loop(self):
        value = 1
        path = os.path.join(self.m2, 'c')
        while not self.stop.is_set():
            value = value % 250 + 1
            data = bytes([value]) * SIZE
            # Listed before its open: readers may see it as soon as the writer's
            # exclusive hold ends, before its close returns (the close waits for
            # the caching mounts to drop what they read before).
            with self.clock:
                commit = [time.monotonic(), None, value]
                self.commits.append(commit)
            try:
                with open(path, 'wb') as out:
                    out.write(data)
            except OSError as e:
                with self.clock:
                    self.commits.remove(commit)  # a failed commit changes nothing
                    self.errors.append('write %d: %s' % (value, e))
                continue
            with self.clock:
                commit[1] = time.monotonic()

    def append_loop(self):
        path = os.path.join(self.m3, 'a')
        while not self.stop.is_set():
            try:
                with open(path, 'ab') as out:
                    out.write(bytes([self.appends % 256]) * ROW)
                self.appends += 1
            except OSError as e:
                self.errors.append('append: %s' % e)

    def possible(self, began, ended):
        """Values a read over [began, ended] may show: the last one committed
        before it began, and those of commits that ran while it did."""
        with self.clock:
            done = [c for c in self.commits if c[1] is not None and c[1] <= began]
            values = {done[-1][2]}
            values.update(c[2] for c in self.commits if c[0] <= ended
                          and (c[1] is None or c[1] >= began))
        return values

    def describe(self, value, began, ended):
        """A stale read, with the commits around it (times from the read's start)."""
        with self.clock:
            near = ['%d: %+.3f..%s' % (v, b - began, '(running)' if e is None
                                       else '%+.3f' % (e - began))
                    for b, e, v in self.commits
                    if (e is None or e > began - 2) and b < ended + 1]
            errors = self.errors[-3:]
        return 'read %d over 0..%+.3f; commits %s; writer errors %s' % (
            value, ended - began, ', '.join(near), errors)

    def run(self):
        threads = [threading.Thread(target=self.write_loop),
                   threading.Thread(target=self.append_loop)]
        for t in threads:
            t.start()
        reads, torn, stale, failed = 0, [], [], []
        try:
            # At least RACE_SECONDS, and on a slow or busy machine until
            # MIN_READS whole reads have been judged (at most RACE_LIMIT).
            start = time.monotonic()
            while True:
                spent = time.monotonic() - start
                if spent >= RACE_LIMIT or (spent >= RACE_SECONDS
                                           and reads >= MIN_READS):
                    break
                began = self.now()
                result = subprocess.run(['cat', os.path.join(self.m3, 'c')],
                                        capture_output=True, timeout=60)
                ended = time.monotonic()
                if result.returncode != 0:
                    failed.append(result.stderr.decode().strip())
                    continue
                reads += 1
                seen = np.unique(np.frombuffer(result.stdout, dtype='u1'))
                if len(result.stdout) != SIZE or len(seen) != 1:
                    torn.append(seen.tolist()[:8])
                    continue
                if int(seen[0]) not in self.possible(began, ended):
                    stale.append(self.describe(int(seen[0]), began, ended))
        finally:
            self.stop.set()
            for t in threads:
                t.join()
        return reads, torn, stale, failed


class LockStateTest(WriteTestCase):

    def race_after_restart(self, rolled_back):
        self.make_file(build_race_file)
        m2 = self.mount(['--lease', LEASE], name='m2', errors=True).mountpoint
        m3 = self.mount(['--lease', LEASE], name='m3', errors=True).mountpoint
        snapshot = os.path.join(self.redis.dir, 'dump.rdb')
        if os.path.exists(snapshot):
            os.unlink(snapshot)
        # History for the lock: generations that a restart could hand out again.
        for i in range(20):
            with open(os.path.join(m3, 'a'), 'ab') as out:
                out.write(bytes([i]) * ROW)
            if i == 5 and rolled_back:
                subprocess.run(['redis-cli', '-p', str(self.redis.port),
                                'SAVE'], check=True, capture_output=True)
        for value in (251, 252, 253):
            with open(os.path.join(m2, 'c'), 'wb') as out:
                out.write(bytes([value]) * SIZE)
        self.redis.pause_server()
        self.assertEqual(os.path.exists(snapshot), rolled_back)
        restarted = time.monotonic()
        self.redis.resume_server()
        # The new redis process grants nothing for a lease (a hold it forgot may
        # still be in use until then), and then the whole current version.
        self.assertEqual(self.cat(os.path.join(m3, 'c')), bytes([253]) * SIZE)
        waited = time.monotonic() - restarted
        print('  first read after the restart: %.2f s' % waited)
        self.assertGreaterEqual(waited, float(LEASE) - SLACK,
                                'granted within a lease of the restart')

        race = Race(m2, m3, current=253)
        reads, torn, stale, failed = race.run()
        print('  %d reads, %d failed (%s), %d commits, %d appends, '
              'writer errors %d'
              % (reads, len(failed), '; '.join(sorted(set(failed)))[:200],
                 len(race.commits), race.appends, len(race.errors)))
        self.assertEqual(torn, [], 'reads that held bytes of several '
                         'versions (first values of each)')
        self.assertEqual(stale, [], 'reads that showed a version older than '
                         'one committed before they began')
        self.assertGreaterEqual(reads, MIN_READS, 'too few whole reads')
        self.assertGreaterEqual(len(race.commits), 5, race.errors[:5])
        for message in failed:
            self.assertIn('Input/output error', message)

    def test_redis_loses_its_data(self):
        self.race_after_restart(rolled_back=False)

    def test_redis_reloads_an_older_snapshot(self):
        self.race_after_restart(rolled_back=True)

    def test_break_during_a_commit(self):
        n = 64 << 20
        rng = np.random.default_rng(7)
        # The structure only: printing 64 Mi values as text takes a minute on a busy
        # machine, and h5py reads every byte below.
        self.H5DUMP_ARGS = ('-H',)

        def build(f):
            f.create_dataset('k', data=np.zeros(n, dtype='u1'),
                             chunks=(1 << 20,), compression='gzip')
        self.make_file(build)
        first = rng.integers(0, 256, n, dtype='u1').tobytes()
        second = rng.integers(0, 256, 3 << 20, dtype='u1').tobytes()
        k1, new = self.src('k1.bin', first), self.src('new.bin', second)
        ma = self.mount(['--lease', LEASE], name='ma', errors=True).mountpoint
        mb = self.mount(['--lease', LEASE], name='mb', errors=True).mountpoint

        slow = subprocess.Popen(['cp', k1, os.path.join(ma, 'k')],
                                stderr=subprocess.PIPE)
        for _ in wh.harness.deadline_loop(60):
            if any(h['mode'] == 'X' for h in self.lock_status()['holders']):
                break
            self.assertIsNone(slow.poll(), 'the commit ended before break')
        broke = subprocess.run([self.ctl, '--redis', self.redis.url(),
                                'break', self.h5path],
                               capture_output=True, text=True, timeout=30)
        self.assertEqual(broke.returncode, 0, broke.stderr)
        print('  ' + broke.stdout.strip())
        fast = subprocess.run(['cp', new, os.path.join(mb, 'new')],
                              capture_output=True, text=True, timeout=120)
        slow_err = slow.communicate(timeout=120)[1].decode()
        print('  broken cp: exit %d %s; second cp: exit %d %s'
              % (slow.returncode, slow_err.strip(), fast.returncode,
                 fast.stderr.strip()))
        self.assertEqual(fast.returncode, 0, fast.stderr)
        self.unmount_all()
        self.check_h5dump(self.h5path)
        with self.h5() as f:
            self.assertEqual(f['new'][...].tobytes(), second)
            k = f['k'][...].tobytes()
            self.assertIn(k, (first, bytes(n)), 'k holds neither version')
            if slow.returncode == 0:
                self.assertEqual(k, first, 'a cp that exited 0 was lost')

    def test_redis_rolled_back_during_a_commit(self):
        n = 64 << 20
        rng = np.random.default_rng(8)
        # Every chunk read and checked, in binary: printing 64 Mi values as text
        # took 20 s per dump (this file has no type h5dump cannot write so).
        self.H5DUMP_ARGS = ('-b', 'NATIVE', '-o', '/dev/null')

        def build(f):
            f.create_dataset('k', data=np.zeros(n, dtype='u1'),
                             chunks=(1 << 20,), compression='gzip')
        self.make_file(build)
        first = rng.integers(0, 256, n, dtype='u1').tobytes()
        second = rng.integers(0, 256, 3 << 20, dtype='u1').tobytes()
        k1 = self.src('k1.bin', first)
        # Mounts that do not cache: an idle one gives its hold back after a second.
        ma = self.mount(['--lease', LEASE, '--no-cache'], name='ma', errors=True).mountpoint
        mb = self.mount(['--lease', LEASE, '--no-cache'], name='mb', errors=True).mountpoint
        # The snapshot knows the lock, from before the commit below, and has
        # no hold (a hold in it would keep writers out until its lease ends).
        self.assertEqual(os.listdir(mb), ['k'])
        for _ in wh.harness.deadline_loop(20):
            if not self.lock_status()['holders']:
                break
        self.assertEqual(self.lock_status()['holders'], [], 'the mounts kept holds')
        snapshot = os.path.join(self.redis.dir, 'dump.rdb')
        self.addCleanup(lambda: os.path.exists(snapshot) and os.unlink(snapshot))
        subprocess.run(['redis-cli', '-p', str(self.redis.port), 'SAVE'],
                       check=True, capture_output=True)

        slow = subprocess.Popen(['cp', k1, os.path.join(ma, 'k')],
                                stderr=subprocess.PIPE)
        for _ in wh.harness.deadline_loop(60):
            if any(h['mode'] == 'X' for h in self.lock_status()['holders']):
                break
            self.assertIsNone(slow.poll(), 'the commit ended before the restart')
        self.redis.pause_server()
        restarted = time.monotonic()
        self.redis.resume_server()
        # Creating /new takes an exclusive hold: the open returns once granted.
        fd = os.open(os.path.join(mb, 'new'), os.O_WRONLY | os.O_CREAT, 0o644)
        waited = time.monotonic() - restarted
        with os.fdopen(fd, 'wb') as out:
            out.write(second)
        slow_err = slow.communicate(timeout=120)[1].decode()
        print('  committing cp: exit %d %s; the next writer got in %.2f s '
              'after the restart' % (slow.returncode, slow_err.strip(), waited))
        self.assertGreaterEqual(waited, float(LEASE) - SLACK,
                                'the next writer got in within the lease of '
                                'the hold redis forgot')
        self.unmount_all()
        self.check_h5dump(self.h5path)
        with self.h5() as f:
            self.assertEqual(f['new'][...].tobytes(), second)
            k = f['k'][...].tobytes()
            self.assertIn(k, (first, bytes(n)), 'k holds neither version')
            if slow.returncode == 0:
                self.assertEqual(k, first, 'a cp that exited 0 was lost')

    def test_stopped_redis_fails_after_the_lock_timeout(self):
        def build(f):
            f.create_dataset('d', data=np.arange(100, dtype='<i8'))
        self.make_file(build)
        # Uncached, the mount gives its idle shared hold back after a second;
        # a cat must then ask redis.
        mnt = self.mount(['--lock-timeout', '2', '--no-cache'], errors=True).mountpoint
        path = os.path.join(mnt, 'd')
        self.assertEqual(len(self.cat(path)), 800)
        for _ in wh.harness.deadline_loop(20):
            if not self.lock_status()['holders']:
                break
        os.kill(self.redis.proc.pid, signal.SIGSTOP)
        try:
            began = time.monotonic()
            result = subprocess.run(['cat', path], capture_output=True,
                                    text=True, timeout=60)
            took = time.monotonic() - began
        finally:
            os.kill(self.redis.proc.pid, signal.SIGCONT)
        print('  cat with redis stopped: exit %d after %.2f s: %s'
              % (result.returncode, took, result.stderr.strip()))
        self.assertNotEqual(result.returncode, 0)
        self.assertIn('Input/output error', result.stderr)
        self.assertGreaterEqual(took, 1.8)
        self.assertLess(took, 3.0, 'waited far past --lock-timeout 2')
        self.assertEqual(len(self.cat(path)), 800)
        # Right after a read the mount still keeps its shared hold; a change must give it
        # back first, and that too waits for a silent redis no longer than it may.
        os.kill(self.redis.proc.pid, signal.SIGSTOP)
        try:
            began = time.monotonic()
            with self.assertRaises(OSError) as raised:
                os.mkdir(os.path.join(mnt, 'new'))
            took = time.monotonic() - began
        finally:
            os.kill(self.redis.proc.pid, signal.SIGCONT)
        print('  mkdir with redis stopped: %s after %.2f s' % (raised.exception, took))
        self.assertEqual(raised.exception.errno, errno.EIO)
        self.assertLess(took, 3.0, 'waited far past --lock-timeout 2')


if __name__ == '__main__':
    wh.main()
