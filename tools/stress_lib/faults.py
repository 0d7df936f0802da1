"""Faults injected during a stress run, one at a time.

kill-exclusive  SIGKILL a daemon that `h5swmrfs-ctl status` shows holding
                the lock exclusively
kill-shared     ... holding it shared
kill-waiting    ... waiting for it as a writer (the tool takes a shared
                hold with `h5swmrfs-ctl run` so that writers queue, kills a
                queued daemon, then lets its hold go)
stop            SIGSTOP a daemon (one holding a shared hold when there is
                one) for longer than its lease, then SIGCONT
redis-restart   SIGKILL redis and start it again on the same address and files
                (appendonly, fsync always: the holds survive, as they must)
redis-lose      ... and start it on an empty data directory: every key is
                lost (a redis without persistence), so the generation
                counter starts again from nothing
redis-rollback  ... and start it from an RDB snapshot taken earlier (a redis
                that reloads an older dump.rdb): holds, queue and generation
                counter go back to what they were then
disk-full       fill the tmpfs holding FILE.h5 with a filler file until
                writes fail with ENOSPC, then delete it

A killed daemon's mount is detached (`fusermount3 -u -z`) and a new daemon
mounted in its place once the other mounts have made progress. Each fault
gives a record: t (the fault's moment), t_end (fault over: mount back,
SIGCONT, redis back, disk freed), the mount, what it held, and the live
progress of the other mounts.
"""

import glob
import os
import select
import signal
import subprocess
import time

from .env import SetupError

KINDS = ('kill-exclusive', 'kill-shared', 'kill-waiting', 'stop',
         'redis-restart', 'redis-lose', 'redis-rollback', 'disk-full')
EXTRA = ('stop-exclusive',)   # not in 'all': see docs/STRESS.md
REDIS_KINDS = ('redis-restart', 'redis-lose', 'redis-rollback')
# Restarts after which the lock server hands out again what it handed out
# before: what they break shows in the load after them, and the more
# history before them, the longer (every generation issued since the
# snapshot, or since the start, is issued a second time).
STATE_LOSING = ('redis-lose', 'redis-rollback')


class Injector:

    def __init__(self, run):
        self.r = run
        self.records = []
        self.snapshot = None        # (path, time taken) for redis-rollback

    def log(self, msg):
        self.r.say('  fault: ' + msg)

    # -- helpers --------------------------------------------------------------

    def daemon_by_pid(self, pid):
        for d in self.r.daemons:
            if d.alive() and d.pid == pid:
                return d
        return None

    def find(self, want, timeout):
        """Poll `h5swmrfs-ctl status --json` until a live daemon of ours is a
        holder (want 'X'/'S') or waiting writer ('waiting'); (daemon, entry,
        status seconds) or (None, None, None)."""
        end = time.monotonic() + timeout
        up = set(self.r.up)
        while time.monotonic() < end:
            t0 = time.monotonic()
            st = self.r.ctl.status(self.r.key, timeout=5)
            if st is None:
                continue
            if want == 'waiting':
                cands = [h for h in st.get('waiting', [])]
            else:
                cands = [h for h in st.get('holders', [])
                         if h.get('mode') == want and
                         h.get('state') == 'holding']
            for h in cands:
                d = self.daemon_by_pid(h.get('pid'))
                if d is not None and d.index in up:
                    return d, h, time.monotonic() - t0
        return None, None, None

    def kill_and_restart(self, rec, d):
        rec['t'] = time.monotonic()  # before: what the signal breaks ends after it
        d.signal(signal.SIGKILL)
        self.restart_killed(rec, d)

    def restart_killed(self, rec, d):
        """After SIGKILL of daemon d: once the others made progress, a new
        daemon is mounted in its place."""
        self.r.set_down(d.index)
        stuck_before = len(d.stuck)
        d.reap()
        if len(d.stuck) > stuck_before:
            # SIGKILL did not end it: a thread waits in the kernel for what
            # only its own connection could answer (reap aborted it)
            rec['stuck'] = d.stuck[-1]
            self.log('daemon %d did not end when killed: %s' % (
                d.index, d.stuck[-1]['threads']))
        # the dead daemon's mount: detached; processes in it see ENOTCONN
        subprocess.run(['fusermount3', '-u', '-z', d.mountpoint],
                       capture_output=True)
        # a dead holder or waiter keeps the others out until its lease ends
        self.wait_survivors(rec, exclude=d.index)
        d.start()
        rec['t_back'] = rec['t_end'] = time.monotonic()
        self.r.set_up(d.index, restarted=True)
        back = self.r.live.wait_progress([d.index], rec['t_back'], 30)
        rec['restarted_mount_progress'] = back[d.index]

    def wait_survivors(self, rec, exclude=None, timeout=None):
        survivors = [m for m in self.r.up if m != exclude]
        timeout = timeout or (self.r.args.lease + 10)
        rec['live_progress'] = self.r.live.wait_progress(survivors, rec['t'],
                                                         timeout)

    # -- the faults ---------------------------------------------------------------

    def run_fault(self, kind):
        rec = {'kind': kind, 'mount': None, 'held': None}
        start = time.monotonic()
        try:
            getattr(self, 'do_' + kind.replace('-', '_'))(rec)
        except SetupError as e:
            rec['error'] = str(e)
            self.log('%s: %s' % (kind, e))
        if 't' not in rec:
            rec['skipped'] = rec.get('skipped', 'no moment found')
            rec['t'] = start
        rec.setdefault('t_end', time.monotonic())
        self.records.append(rec)
        lp = rec.get('live_progress') or {}
        self.log('%s mount=%s held=%s%s progress %s' % (
            kind, rec['mount'], rec['held'],
            ' SKIPPED (%s)' % rec['skipped'] if 'skipped' in rec else '',
            ', '.join('m%d %s' % (m, '%.2fs' % v if v is not None else
                                  'NONE') for m, v in sorted(lp.items()))))
        return rec

    def _kill_holder(self, rec, want):
        d, h, took = self.find(want, timeout=20)
        if d is None:
            rec['skipped'] = 'no daemon was seen %s' % want
            return
        rec.update(mount=d.index, pid=d.pid, held=want, status_seconds=took)
        self.kill_and_restart(rec, d)

    def do_kill_exclusive(self, rec):
        self._kill_holder(rec, 'X')

    def do_kill_shared(self, rec):
        self._kill_holder(rec, 'S')

    def do_kill_waiting(self, rec):
        # Hold the lock shared ourselves so that the mounts' writers queue
        # (under an exclusive hold they would not get as far as wanting
        # exclusive: their lookups wait for a shared hold first).
        cmd = self.r.ctl.run_cmd('shared', self.r.key, 30) + \
            ['/bin/sh', '-c', 'echo ready; read x']
        hold = subprocess.Popen(cmd, stdin=subprocess.PIPE,
                                stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE)
        try:
            if not self._wait_line(hold, b'ready\n', 30):
                rec['skipped'] = 'could not take the shared hold'
                return
            rec['hold_taken'] = time.monotonic()
            # Bounded well below the workers' --lock-timeout: while this hold
            # stands, a writer that is not a mount (the h5py program's
            # h5swmrfs-ctl) may head the queue, and the mounts' writers then
            # wait in their own process behind a shared request that waits
            # for it, never reaching the queue; holding on longer would only
            # time out the workers (EBUSY), which no real fault explains.
            d, h, took = self.find('waiting',
                                   timeout=self.r.args.lock_timeout / 2)
            if d is None:
                rec['skipped'] = 'no daemon was seen waiting'
                return
            rec.update(mount=d.index, pid=d.pid, held='waiting',
                       status_seconds=took)
            rec['t'] = time.monotonic()  # before: what the signal breaks ends after it
            d.signal(signal.SIGKILL)
        finally:
            self._release(hold)
            rec['hold_released'] = time.monotonic()
        self.restart_killed(rec, d)

    @staticmethod
    def _wait_line(proc, line, timeout):
        buf = b''
        fd = proc.stdout.fileno()
        end = time.monotonic() + timeout
        while line not in buf:
            left = end - time.monotonic()
            if left <= 0 or proc.poll() is not None:
                return False
            ready, _, _ = select.select([fd], [], [], left)
            if ready:
                chunk = os.read(fd, 256)
                if not chunk:
                    return False
                buf += chunk
        return True

    @staticmethod
    def _release(proc):
        try:
            proc.stdin.write(b'go\n')
            proc.stdin.close()
        except OSError:
            pass
        try:
            proc.wait(30)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()

    def _stop(self, rec, want):
        d, h, took = self.find(want, timeout=5)
        if d is None:
            if want == 'X':
                rec['skipped'] = 'no daemon was seen holding X'
                return
            d = self.r.daemons[self.r.rng.choice(list(self.r.up))]
        rec.update(mount=d.index, pid=d.pid,
                   held=want if h is not None else None)
        rec['t'] = time.monotonic()  # before: what the signal breaks ends after it
        d.signal(signal.SIGSTOP)
        self.r.set_down(d.index)
        lease = self.r.args.lease
        self.wait_survivors(rec, exclude=d.index)
        # stopped past its lease
        left = rec['t'] + 1.5 * lease + 0.5 - time.monotonic()
        if left > 0:
            time.sleep(left)
        d.signal(signal.SIGCONT)
        rec['t_back'] = rec['t_end'] = time.monotonic()
        self.r.set_up(d.index)
        back = self.r.live.wait_progress([d.index], rec['t_back'], 30)
        rec['restarted_mount_progress'] = back[d.index]

    def do_stop(self, rec):
        self._stop(rec, 'S')

    def do_stop_exclusive(self, rec):
        self._stop(rec, 'X')

    def take_snapshot(self):
        """The RDB that the next redis-rollback goes back to."""
        path = os.path.join(self.r.redis.base, 'snapshot.rdb')
        tmp = path + '.new'
        self.r.redis.snapshot(tmp)
        os.replace(tmp, path)
        self.snapshot = (path, time.monotonic())

    def do_redis_restart(self, rec):
        self._restart_redis(rec, 'keep')

    def do_redis_lose(self, rec):
        self._restart_redis(rec, 'empty')

    def do_redis_rollback(self, rec):
        if self.snapshot is None:
            rec['skipped'] = 'no snapshot was taken'
            return
        self._restart_redis(rec, 'snapshot')

    def _restart_redis(self, rec, state):
        st = self.r.ctl.status(self.r.key, timeout=5) or {}
        rec['holders_before'] = [(h.get('mode'), h.get('mount'))
                                 for h in st.get('holders', [])]
        rec['held'] = 'X' if any(h.get('mode') == 'X'
                                 for h in st.get('holders', [])) else None
        rec['generation_before'] = st.get('generation')
        snapshot = None
        if state == 'snapshot':
            snapshot, taken = self.snapshot
            rec['snapshot_age'] = time.monotonic() - taken
        self.r.redis.kill()
        rec['t'] = time.monotonic()
        self.r.redis.start(self.r.redis_ready, state, snapshot)
        rec['t_back'] = rec['t_end'] = time.monotonic()
        rec['redis_down'] = rec['t_back'] - rec['t']
        rec['generation_after'] = (self.r.ctl.status(self.r.key, timeout=5)
                                   or {}).get('generation')
        self.wait_survivors(rec, timeout=self.r.args.lock_timeout +
                            2 * self.r.args.lease + 10)
        if state != 'keep':
            # the next rollback goes back to the lock's state after this
            # one, not to one from before it
            self.take_snapshot()

    def do_disk_full(self, rec):
        filler = os.path.join(self.r.disk, 'filler')
        # h5py programs stop writing first (see worker.py); one that is in
        # the middle of a write finishes it under its hold
        self.r.disk_full = True
        self.r.write_up()
        # an h5py program that read the flag before it was set has a busy
        # file until its write (waiting for the lock included) is over
        busy = os.path.join(self.r.tmpdir, 'h5py*.busy')
        end = time.monotonic() + self.r.args.lock_timeout + 30
        while glob.glob(busy) and time.monotonic() < end:
            time.sleep(0.05)
        if glob.glob(busy):
            rec['skipped'] = 'an h5py program did not finish its write'
            self.r.disk_full = False
            self.r.write_up()
            return
        rec['free_before'] = self.r.tmpfs.free_bytes()
        fd = os.open(filler, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        rec['t'] = time.monotonic()
        try:
            for size in (1 << 20, 4096, 512):
                block = b'\xa5' * size
                try:
                    while True:
                        os.write(fd, block)
                except OSError:
                    pass
            os.fsync(fd)
            rec['free_when_full'] = self.r.tmpfs.free_bytes()
            # until writes fail with ENOSPC (a few), at most 5 s
            end = time.monotonic() + 5
            while time.monotonic() < end and len(
                    self.r.live.failed_writes_since(rec['t'], 'ENOSPC')) < 3:
                self.r.live.poll()
                time.sleep(0.05)
            rec['enospc_writes'] = len(
                self.r.live.failed_writes_since(rec['t'], 'ENOSPC'))
        finally:
            os.close(fd)
            os.unlink(filler)
            self.r.disk_full = False
            self.r.write_up()
        rec['t_back'] = rec['t_end'] = time.monotonic()
        self.wait_survivors(rec)
