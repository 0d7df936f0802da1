#!/usr/bin/python3
"""Reads through read-only shared mappings of datasets (mmap PROT_READ,
MAP_SHARED, as numpy.memmap mode "r" makes them), done in a child process
of the mmap reader.

A page the kernel cannot fill (the daemon answers the read with an error,
the file is shorter than the mapping) raises SIGBUS, which ends the process
that touched it: here the child, never the reader. The reader counts it and
starts another child (whose mappings are new ones).

    mapping.py        the child: one JSON command a line on stdin, one JSON
                      reply a line on stdout

Commands (the reply has ok, or ok false with err, the errno name, and msg):
    {"op": "map", "key": K, "path": P}      open P read-only, map all of it
                                            (its size then), close the
                                            descriptor: the mapping keeps the
                                            file open, as numpy.memmap does
    {"op": "read", "key": K, "off": O, "n": N, "kind": KIND}
                                            copy N bytes at O out of mapping K
    {"op": "fresh", "path": P, "kind": KIND}
                                            open, map, copy all, unmap
    {"op": "unmap", "key": K}
KIND is "records" or "uniform" (records.py); a read's reply says what its
bytes are (records.record_map or records.byte_values) with t0 and t1 from
time.monotonic() just before and after the copy.
"""

import errno
import json
import mmap
import os
import select
import signal
import subprocess
import sys
import time

sys.dont_write_bytecode = True  # nothing written into the source tree
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(
    __file__))))

from stress_lib import records  # noqa: E402


def describe(data, off, kind):
    if kind == 'uniform':
        return {'values': records.byte_values(data),
                'dec': records.fills(data, off)}
    return {'sha': records.digest(data), 'recs': records.record_map(data, off)}


def copy_out(mapped, off, n):
    t0 = time.monotonic()
    data = mapped[off:off + n]
    return data, t0, time.monotonic()


def serve(cmd, maps):
    op = cmd['op']
    if op == 'map':
        fd = os.open(cmd['path'], os.O_RDONLY)
        try:
            size = os.fstat(fd).st_size
            maps[cmd['key']] = (mmap.mmap(fd, size, mmap.MAP_SHARED,
                                          mmap.PROT_READ) if size else None,
                                size)
        finally:
            os.close(fd)
        return {'size': size}
    if op == 'unmap':
        mapped, _ = maps.pop(cmd['key'], (None, 0))
        if mapped is not None:
            mapped.close()
        return {}
    if op == 'read':
        mapped, size = maps[cmd['key']]
        data, t0, t1 = copy_out(mapped, cmd['off'], cmd['n']) if mapped \
            else (b'', time.monotonic(), time.monotonic())
        return dict(describe(data, cmd['off'], cmd['kind']), t0=t0, t1=t1,
                    n=len(data), size=size)
    # fresh: the size is what the kernel says right after the open
    t0 = time.monotonic()
    fd = os.open(cmd['path'], os.O_RDONLY)
    try:
        size = os.fstat(fd).st_size
        ts = time.monotonic()
        mapped = mmap.mmap(fd, size, mmap.MAP_SHARED, mmap.PROT_READ) \
            if size else None
    finally:
        os.close(fd)
    data = b''
    if mapped is not None:
        data = mapped[:]
        mapped.close()
    return dict(describe(data, 0, cmd['kind']), t0=t0, ts=ts,
                t1=time.monotonic(), n=len(data), size=size)


def child():
    maps = {}
    for line in sys.stdin:
        cmd = json.loads(line)
        try:
            reply = dict(serve(cmd, maps), ok=True)
        except OSError as e:
            reply = {'ok': False, 'msg': str(e)[-200:],
                     'err': errno.errorcode.get(e.errno, str(e.errno))}
        sys.stdout.write(json.dumps(reply, separators=(',', ':')) + '\n')
        sys.stdout.flush()


class Client:
    """The reader's side: asks the child, and tells a reply from the
    child's death (SIGBUS) or a timeout; starts a new child when needed."""

    def __init__(self, err_path, timeout):
        self.err_path = err_path
        self.timeout = timeout
        self.proc = None

    def _start(self):
        with open(self.err_path, 'ab') as err:
            self.proc = subprocess.Popen(
                [sys.executable, os.path.abspath(__file__)],
                stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=err)

    def ask(self, cmd):
        """(reply, None) or (None, 'SIGBUS' / 'SIG<n>' / 'RC<n>' /
        'TIMEOUT') when the child died or hung (then it is gone, and with
        it every mapping)."""
        if self.proc is None:
            self._start()
        try:
            self.proc.stdin.write((json.dumps(cmd) + '\n').encode())
            self.proc.stdin.flush()
        except OSError:
            return None, self._ended()
        fd = self.proc.stdout.fileno()
        ready, _, _ = select.select([fd], [], [], self.timeout)
        if not ready:
            self.proc.kill()
            self._ended()
            return None, 'TIMEOUT'
        line = self.proc.stdout.readline()
        if not line:
            return None, self._ended()
        return json.loads(line), None

    def _ended(self):
        proc, self.proc = self.proc, None
        for f in (proc.stdin, proc.stdout):
            try:
                f.close()
            except OSError:
                pass
        status = proc.wait()
        if status < 0:
            try:
                return signal.Signals(-status).name
            except ValueError:
                return 'SIG%d' % -status
        return 'RC%d' % status

    def close(self):
        if self.proc is not None:
            try:
                self.proc.stdin.close()
            except OSError:
                pass
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
            self.proc = None


if __name__ == '__main__':
    child()
