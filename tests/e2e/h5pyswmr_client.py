#!/usr/bin/python3
"""A client of h5pySWMR's redis lock, written from its description (the
issue that asked for `--lock h5pyswmr`, docs/LOCKING.md), for the tests: it
stands for the Python programs that use h5pySWMR itself (not packaged).

For a file name F: simple locks mutex1__F, mutex2__F, mutex3__F, r__F, w__F
(SETNX, then EXPIRE 20; retried every millisecond; released by their owner
with WATCH/GET/MULTI/DEL) and counters readcount__F, writecount__F.

    h5pyswmr_client.py REDIS_URL F FILE write VALUE [--count N] [--pause S]
    h5pyswmr_client.py REDIS_URL F FILE read [--seconds S] [--pause S]
    h5pyswmr_client.py REDIS_URL F FILE hold-write VALUE
    h5pyswmr_client.py REDIS_URL F FILE hold-read
    h5pyswmr_client.py REDIS_URL F FILE try-write [--timeout S]
    h5pyswmr_client.py REDIS_URL F FILE grow NAME VALUE ROWS

write: N times (VALUE, VALUE+1, ...) under the write lock, set every element
of /data to the value in two halves, flushed, with S seconds between them
(and then /other, if the file has one, whole);
prints 'wrote V WAITED' per write (WAITED: seconds from asking to getting
the lock). read: for S seconds, under the read lock, open FILE, read /data
in two halves with a pause between, read it whole again, and check the
halves make that whole and hold one value; prints 'read V LENGTH WAITED'
per read, 'MIX ...' for a mixture (then exits 1). hold-write / hold-read:
take the lock, print 'held', wait for a line on stdin, then write VALUE
(whole) / read, release, print 'released V'. try-write: ask for the write
lock with the given acquisition timeout; exit 0 if it was granted, 5 if not.
grow: under the write lock, create dataset NAME (8 elements of VALUE) and
add ROWS elements of VALUE to /data: changes of the file's structure.

HDF5's file locking is switched off: the redis lock is what excludes.
"""

import os
import sys
import time
import uuid

os.environ['HDF5_USE_FILE_LOCKING'] = 'FALSE'

import h5py  # noqa: E402
import numpy as np  # noqa: E402
import redis  # noqa: E402

TTL = 20          # EXPIRE of every simple lock, seconds
ACQ_TIMEOUT = 15  # how long one simple lock is waited for, seconds


class LockLost(Exception):
    pass


def take(conn, key, ident, timeout=ACQ_TIMEOUT):
    end = time.time() + timeout
    while time.time() < end:
        if conn.setnx(key, ident):
            conn.expire(key, TTL)
            return True
        time.sleep(0.001)
    return False


def give(conn, key, ident):
    with conn.pipeline(True) as pipe:
        pipe.watch(key)
        if pipe.get(key) == ident:
            pipe.multi()
            pipe.delete(key)
            pipe.execute()
            return True
        pipe.unwatch()
        return False


class Simple:
    """One simple lock for a `with` block, a fresh id per acquisition."""

    def __init__(self, conn, key, timeout=ACQ_TIMEOUT):
        self.conn, self.key, self.timeout = conn, key, timeout
        self.ident = 'pid%d_%s' % (os.getpid(), uuid.uuid4())

    def __enter__(self):
        if not take(self.conn, self.key, self.ident, self.timeout):
            raise TimeoutError('could not take ' + self.key)
        return self

    def __exit__(self, *exc):
        if not give(self.conn, self.key, self.ident):
            raise LockLost(self.key + ' was lost')


class Lock:
    def __init__(self, url, name):
        self.conn = redis.Redis.from_url(url, decode_responses=True)
        self.f = name

    def k(self, what):
        return '%s__%s' % (what, self.f)

    def read_enter(self):
        with Simple(self.conn, self.k('mutex3')):
            with Simple(self.conn, self.k('r')):
                with Simple(self.conn, self.k('mutex1')):
                    if self.conn.incr(self.k('readcount')) == 1:
                        if not take(self.conn, self.k('w'), 'id_reader'):
                            raise TimeoutError('could not take w')

    def read_leave(self):
        with Simple(self.conn, self.k('mutex1')):
            if self.conn.decr(self.k('readcount')) == 0:
                if not give(self.conn, self.k('w'), 'id_reader'):
                    raise LockLost('w was lost')

    def write_enter(self, timeout=ACQ_TIMEOUT):
        """Returns the id of w, for write_leave."""
        with Simple(self.conn, self.k('mutex2')):
            if self.conn.incr(self.k('writecount')) == 1:
                if not take(self.conn, self.k('r'), 'id_writer'):
                    raise TimeoutError('could not take r')
        ident = 'pid%d_%s' % (os.getpid(), uuid.uuid4())
        if take(self.conn, self.k('w'), ident, timeout):
            return ident
        self._writers_leave()
        return None

    def write_leave(self, ident):
        lost = not give(self.conn, self.k('w'), ident)
        self._writers_leave()
        if lost:
            raise LockLost('w was lost')

    def _writers_leave(self):
        with Simple(self.conn, self.k('mutex2')):
            if self.conn.decr(self.k('writecount')) == 0:
                if not give(self.conn, self.k('r'), 'id_writer'):
                    raise LockLost('r was lost')


def write_halves(path, value, pause):
    """/data in two halves; then /other, if there is one, whole."""
    with h5py.File(path, 'r+') as f:
        ds = f['data']
        n = ds.shape[0]
        ds[:n // 2] = value
        f.flush()
        time.sleep(pause)
        ds[n // 2:] = value
        f.flush()
        if 'other' in f:
            f['other'][...] = value


def read_halves(path, pause):
    """(first half, second half, whole read again) of /data."""
    with h5py.File(path, 'r') as f:
        ds = f['data']
        n = ds.shape[0]
        first = ds[:n // 2]
        time.sleep(pause)
        second = ds[n // 2:]
    with h5py.File(path, 'r') as f:
        whole = f['data'][...]
    return first, second, whole


def option(argv, name, default):
    if name in argv:
        return float(argv[argv.index(name) + 1])
    return default


def main(argv):
    url, name, path, mode = argv[:4]
    rest = argv[4:]
    lock = Lock(url, name)
    pause = option(rest, '--pause', 0.1)
    if mode == 'write':
        value = int(rest[0])
        for i in range(int(option(rest, '--count', 1))):
            asked = time.monotonic()
            ident = lock.write_enter()
            if ident is None:
                print('timeout', flush=True)
                return 5
            waited = time.monotonic() - asked
            try:
                write_halves(path, value + i, pause)
            finally:
                lock.write_leave(ident)
            print('wrote %d %.3f' % (value + i, waited), flush=True)
        return 0
    if mode == 'read':
        end = time.monotonic() + option(rest, '--seconds', 1.0)
        while time.monotonic() < end:
            asked = time.monotonic()
            lock.read_enter()
            waited = time.monotonic() - asked
            try:
                first, second, whole = read_halves(path, pause)
            finally:
                lock.read_leave()
            both = np.concatenate([first, second])
            values = set(both.tolist())
            if len(values) != 1 or not np.array_equal(both, whole):
                print('MIX %s length %d/%d' % (sorted(values)[:6], len(both), len(whole)), flush=True)
                return 1
            print('read %d %d %.3f' % (values.pop(), len(both), waited), flush=True)
        return 0
    if mode in ('hold-write', 'hold-read'):
        ident = lock.write_enter() if mode == 'hold-write' else lock.read_enter()
        print('held', flush=True)
        sys.stdin.readline()
        if mode == 'hold-write':
            try:
                write_halves(path, int(rest[0]), 0)
            finally:
                lock.write_leave(ident)
            print('released %s' % rest[0], flush=True)
        else:
            try:
                _, _, whole = read_halves(path, 0)
            finally:
                lock.read_leave()
            print('released %d' % whole[0], flush=True)
        return 0
    if mode == 'grow':
        new, value, rows = rest[0], int(rest[1]), int(rest[2])
        ident = lock.write_enter()
        try:
            with h5py.File(path, 'r+') as f:
                f.create_dataset(new, data=np.full(8, value, dtype='<i8'))
                ds = f['data']
                n = ds.shape[0]
                ds.resize((n + rows,))
                ds[n:] = value
        finally:
            lock.write_leave(ident)
        return 0
    if mode == 'try-write':
        ident = lock.write_enter(timeout=option(rest, '--timeout', 1.0))
        if ident is None:
            return 5
        lock.write_leave(ident)
        return 0
    print('unknown mode ' + mode, file=sys.stderr)
    return 4


if __name__ == '__main__':
    sys.exit(main(sys.argv[1:]))
