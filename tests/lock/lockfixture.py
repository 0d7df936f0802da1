"""Shared pieces of the lock tests: a private redis-server, the helper processes, the log.

Every test starts its own redis-server on a free loopback port with its own directory
and stops it by PID. Waits are on conditions with deadlines, never bare sleeps.
"""
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time

import redis

HELPER = os.environ.get("LOCK_HELPER", "")
CTL = os.environ.get("H5SWMRFS_CTL", "")


def fail(message):
    print("FAIL: " + message, file=sys.stderr)
    sys.exit(1)


def check(condition, message):
    if not condition:
        fail(message)


def wait_until(condition, timeout, what, interval=0.005):
    """Returns condition()'s first true value; fails the test after `timeout` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() >= deadline:
            fail("timed out after %.1f s waiting for %s" % (timeout, what))
        time.sleep(interval)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class RedisServer:
    def __init__(self, password=None):
        self.password = password
        self.port = free_port()
        self.dir = tempfile.mkdtemp(prefix="h5swmrfs-lock-redis-")
        self.proc = None

    @property
    def socket(self):
        return os.path.join(self.dir, "redis.sock")

    @property
    def url(self):
        return "redis://127.0.0.1:%d/0" % self.port

    def client(self):
        return redis.Redis(host="127.0.0.1", port=self.port, password=self.password, decode_responses=True)

    def start(self):
        args = ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
                "--appendonly", "no", "--dir", self.dir, "--unixsocket", self.socket, "--unixsocketperm", "700", "--logfile", os.path.join(self.dir, "redis.log")]
        if self.password:
            args += ["--requirepass", self.password]
        self.proc = subprocess.Popen(args, stdin=subprocess.DEVNULL)

        def ready():
            if self.proc.poll() is not None:
                fail("redis-server exited: " + open(os.path.join(self.dir, "redis.log")).read()[-2000:])
            try:
                return self.client().ping()
            except redis.exceptions.ConnectionError:
                return False
        wait_until(ready, 10, "redis-server on port %d" % self.port)
        return self

    def kill(self, sig=signal.SIGKILL):
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(sig)
            self.proc.wait(10)
        self.proc = None

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.kill(signal.SIGTERM)
        shutil.rmtree(self.dir, ignore_errors=True)


class Workspace:
    """A temp dir with the shared log and (for the local backend) the sidecar."""

    def __init__(self, backend, server=None, key=None):
        self.backend = backend
        self.server = server
        self.dir = tempfile.mkdtemp(prefix="h5swmrfs-lock-test-")
        self.log = os.path.join(self.dir, "events.log")
        self.key = key or ("test-%d-%d" % (os.getpid(), time.monotonic_ns()))
        self.sidecar = os.path.join(self.dir, "file.h5.h5swmrfs-lock")
        self.procs = []

    def lock_args(self, lease_ms=2000, timeout_ms=20000, keep_idle_ms=None):
        args = ["--backend", self.backend, "--lease-ms", str(lease_ms), "--timeout-ms", str(timeout_ms)]
        if self.backend == "redis":
            args += ["--redis", self.server.url, "--key", self.key]
        else:
            args += ["--sidecar", self.sidecar]
        if keep_idle_ms is not None:
            args += ["--keep-idle-ms", str(keep_idle_ms)]
        return args

    def hold(self, mode, tag, hold_ms=100, count=1, gap_ms=0, pause=False, extra=(), **lock_kw):
        args = [HELPER] + self.lock_args(**lock_kw) + ["--log", self.log, "--tag", tag, "hold", "--mode", mode,
                                                      "--hold-ms", str(hold_ms), "--count", str(count),
                                                      "--gap-ms", str(gap_ms)] + list(extra)
        if pause:
            args.append("--pause-after-enter")
        proc = subprocess.Popen(args, stdin=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        proc.tag = tag
        self.procs.append(proc)
        return proc

    def events(self):
        if not os.path.exists(self.log):
            return []
        out = []
        with open(self.log) as f:
            for line in f:
                parts = line.split()
                if len(parts) < 6:
                    continue
                out.append({"t": int(parts[0]), "pid": int(parts[1]), "tag": parts[2], "ev": parts[3],
                            "mode": parts[4], "gen": int(parts[5])})
        return out

    def has_event(self, tag, ev):
        return any(e["tag"] == tag and e["ev"] == ev for e in self.events())

    def first(self, tag, ev):
        for e in self.events():
            if e["tag"] == tag and e["ev"] == ev:
                return e
        return None

    def cleanup(self):
        for p in self.procs:
            if p.poll() is None:
                p.kill()
                p.wait()
        shutil.rmtree(self.dir, ignore_errors=True)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.cleanup()


def intervals(events):
    """Each hold as (start, end, mode, tag): from ENTER to its last successful WRITE/EXIT."""
    out, open_ = [], {}
    for e in sorted(events, key=lambda e: e["t"]):
        key = e["pid"]
        if e["ev"] == "ENTER":
            open_[key] = [e["t"], e["t"], e["mode"], e["tag"]]
        elif e["ev"] in ("WRITE", "EXIT") and key in open_:
            open_[key][1] = e["t"]
            if e["ev"] == "EXIT":
                out.append(tuple(open_.pop(key)))
        elif e["ev"] in ("REFUSED",) and key in open_:
            out.append(tuple(open_.pop(key)))
    out.extend(tuple(v) for v in open_.values())
    return out


def check_exclusion(events):
    """Fails if an exclusive hold overlaps any other hold; returns the number of shared overlaps."""
    spans = sorted(intervals(events))
    shared_overlaps = 0
    for i, (s1, e1, m1, t1) in enumerate(spans):
        for s2, e2, m2, t2 in spans[i + 1:]:
            if s2 > e1:
                break
            if m1 == "X" or m2 == "X":
                fail("overlap: %s %s [%d, %d] and %s %s [%d, %d]" % (t1, m1, s1, e1, t2, m2, s2, e2))
            shared_overlaps += 1
    return shared_overlaps


def finish(proc, timeout=30):
    try:
        proc.wait(timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        fail("%s did not finish within %d s" % (proc.tag, timeout))
    err = proc.stderr.read() if proc.stderr else ""
    return proc.returncode, err


def process_state(pid):
    try:
        with open("/proc/%d/stat" % pid) as f:
            return f.read().rsplit(")", 1)[1].split()[0]
    except FileNotFoundError:
        return None


def backend_from_argv():
    for i, a in enumerate(sys.argv):
        if a == "--backend":
            return sys.argv[i + 1]
    return "redis"
