"""Redis killed and started again while a writer holds the lock, from an older snapshot (RDB)
or without its keys: the writer's hold fails, and no other writer gets in before the
writer's lease has run out (docs/LOCKING.md, Redis restarts) — neither one that never used
the key (a new redis process is recognised by its run_id) nor, after a loss of every key,
one that used the key before (it tells the server the generation it saw, as soon as it
reconnects, even holding nothing)."""
import os
import signal
import time

from lockfixture import RedisServer, Workspace, check, check_exclusion, finish, wait_until

LEASE_MS = 2000
# Lease ends are in the server's clock (ms), the events in CLOCK_MONOTONIC (ns).
SLACK_NS = 20 * 1000 * 1000


def restart_under_a_writer(from_snapshot):
    with RedisServer() as server, Workspace("redis", server) as ws:
        lock = dict(lease_ms=LEASE_MS, timeout_ms=15000)
        second = None
        if from_snapshot:
            code, err = finish(ws.hold("X", "before", hold_ms=50, **lock), 20)
            check(code == 0, "first writer exited %d: %s" % (code, err))
            server.client().save()
        else:
            # Holds once now, and again after the restart.
            second = ws.hold("X", "second", hold_ms=100, count=2, gap_ms=1500, **lock)
            wait_until(lambda: ws.has_event("second", "EXIT"), 10, "the second writer's first hold")
        holder = ws.hold("X", "holder", hold_ms=30000, **lock)
        wait_until(lambda: ws.has_event("holder", "WRITE"), 10, "holder")
        server.kill(signal.SIGKILL)
        check(os.path.exists(os.path.join(server.dir, "dump.rdb")) == from_snapshot, "snapshot file")
        server.start()
        up = time.monotonic_ns()
        if from_snapshot:
            second = ws.hold("X", "second", hold_ms=100, **lock)
        code, err = finish(holder, 10)
        check(code == 3, "holder exited %d after the restart (want 3, refused): %s" % (code, err))
        code, err = finish(second, 20)
        check(code == 0, "second writer exited %d: %s" % (code, err))
        events = ws.events()
        entered = [e["t"] for e in events if e["tag"] == "second" and e["ev"] == "ENTER"][-1]
        # The forgotten hold was last renewed before the kill: nothing may be granted within
        # a lease of redis coming back, whenever the second writer asks (after a loss of
        # every key it tells the loss as soon as it reconnects, holding nothing, and asks
        # again within that lease).
        waited = entered - up
        check(waited >= LEASE_MS * 1000 * 1000 - SLACK_NS,
              "second writer granted %.3f s after redis came back, within the lease of the hold it forgot"
              % (waited / 1e9))
        check_exclusion(events)
        print("%s: holder refused; the next writer waited %.2f s" %
              ("older snapshot" if from_snapshot else "every key lost", waited / 1e9))


if __name__ == "__main__":
    restart_under_a_writer(from_snapshot=True)
    restart_under_a_writer(from_snapshot=False)
    print("ok")
