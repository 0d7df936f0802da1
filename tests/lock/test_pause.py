"""A holder paused (SIGSTOP) past its lease: another writer gets in; after SIGCONT the
paused one's check_valid throws and it does not write again."""
import os
import signal

from lockfixture import RedisServer, Workspace, check, check_exclusion, finish, process_state, wait_until

LEASE_MS = 2000


def main():
    with RedisServer() as server, Workspace("redis", server) as ws:
        lock = dict(lease_ms=LEASE_MS, timeout_ms=15000)
        paused = ws.hold("X", "paused", hold_ms=10000, pause=True, **lock)
        wait_until(lambda: process_state(paused.pid) == "T", 10, "the holder to stop itself")
        other = ws.hold("X", "other", hold_ms=100, **lock)
        code, err = finish(other, 20)
        check(code == 0, "second writer exited %d: %s" % (code, err))
        os.kill(paused.pid, signal.SIGCONT)
        code, err = finish(paused, 20)
        check(code == 3, "paused holder exited %d (want 3, refused): %s" % (code, err))
        other_enter = ws.first("other", "ENTER")["t"]
        late = [e for e in ws.events() if e["tag"] == "paused" and e["ev"] in ("WRITE", "EXIT") and e["t"] > other_enter]
        check(not late, "the paused holder wrote after losing its lease: %s" % late)
        check(ws.has_event("paused", "REFUSED"), "no REFUSED line")
        check_exclusion(ws.events())
        print("ok: paused holder refused: %s" % err.strip().splitlines()[-1])


if __name__ == "__main__":
    main()
