"""SIGKILL a process holding exclusive, one holding shared, one waiting to write:
everyone else proceeds within lease + 1 s."""
import os
import signal
import time

from lockfixture import RedisServer, Workspace, check, check_exclusion, finish, wait_until

LEASE_MS = 2000
BOUND_NS = (LEASE_MS + 1000) * 1_000_000


def kill(proc):
    t = time.monotonic_ns()
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    return t


def main():
    with RedisServer() as server, Workspace("redis", server) as ws:
        r = server.client()
        writers_key = "h5swmr:{%s}:writers" % ws.key
        lock = dict(lease_ms=LEASE_MS, timeout_ms=15000)

        # 1. Exclusive holder and a waiting writer die; a reader queued behind them goes on.
        holder = ws.hold("X", "dead-x", hold_ms=60000, **lock)
        wait_until(lambda: ws.has_event("dead-x", "ENTER"), 10, "exclusive holder")
        waiter = ws.hold("X", "dead-wait", hold_ms=60000, **lock)
        wait_until(lambda: r.zcard(writers_key) == 1, 10, "the waiting writer in redis")
        reader = ws.hold("S", "reader", hold_ms=50, **lock)
        wait_until(lambda: ws.has_event("reader", "WAIT"), 10, "reader waiting")
        t_kill = kill(holder)
        kill(waiter)
        code, err = finish(reader, 20)
        check(code == 0, "reader exited %d: %s" % (code, err))
        delay = ws.first("reader", "ENTER")["t"] - t_kill
        check(delay < BOUND_NS, "reader got in %.2f s after the kills" % (delay / 1e9))
        print("exclusive holder + waiting writer killed: reader in after %.2f s" % (delay / 1e9))

        # 2. A shared holder dies; a writer waiting for it goes on.
        holder = ws.hold("S", "dead-s", hold_ms=60000, **lock)
        wait_until(lambda: ws.has_event("dead-s", "ENTER"), 10, "shared holder")
        writer = ws.hold("X", "writer", hold_ms=50, **lock)
        wait_until(lambda: r.zcard(writers_key) == 1, 10, "the writer waiting in redis")
        t_kill = kill(holder)
        code, err = finish(writer, 20)
        check(code == 0, "writer exited %d: %s" % (code, err))
        delay = ws.first("writer", "ENTER")["t"] - t_kill
        check(delay < BOUND_NS, "writer got in %.2f s after the kill" % (delay / 1e9))
        print("shared holder killed: writer in after %.2f s" % (delay / 1e9))

        check_exclusion(ws.events())
        check(r.hlen("h5swmr:{%s}:holders" % ws.key) == 0, "holders left behind")
        print("ok")


if __name__ == "__main__":
    main()
