"""Cache drops between processes: `h5swmrfs-ctl run --exclusive` returns only once a caching
process dropped what it read before; a killed caching process's drop ends (local: with its
descriptors; redis: with its lease); a caching process paused past its lease drops its kept
hold as soon as it runs again, and a writer gets the lock at once."""
import os
import signal
import subprocess
import time

from lockfixture import CTL, RedisServer, Workspace, check, finish, process_state, wait_until

LEASE_MS = 1000


def ctl_run_exclusive(ws, *command):
    base = [CTL, "--lock", ws.backend, "--lease", str(LEASE_MS / 1000)]
    if ws.backend == "redis":
        base += ["--redis", ws.server.url]
        target = ws.key
    else:
        target = ws.sidecar[:-len(".h5swmrfs-lock")]
        open(target, "a").close()
    return subprocess.run(base + ["run", "--exclusive", target, "--"] + list(command), capture_output=True,
                          text=True, timeout=30)


def event(ws, tag, ev):
    return wait_until(lambda: ws.first(tag, ev), 10, "%s %s" % (tag, ev))


def ctl_waits_for_the_drop(ws):
    """A caching process that takes 1.5 s to empty its caches holds up the writer's return."""
    cacher = ws.hold("S", "cacher", hold_ms=20, lease_ms=LEASE_MS, keep_idle_ms=0,
                     extra=["--cache", "--drop-after-ms", "1500", "--linger-ms", "4000"])
    drop = event(ws, "cacher", "DROP")
    out = ctl_run_exclusive(ws, "true")
    ended = time.monotonic_ns()
    check(out.returncode == 0, "ctl run: %d %s" % (out.returncode, out.stderr))
    dropped = ws.first("cacher", "DROPPED")
    check(dropped is not None and dropped["t"] <= ended,
          "%s: ctl run --exclusive returned before the caching process dropped" % ws.backend)
    print("%s: ctl returned %.0f ms after the drop began, %.0f ms after it was reported" %
          (ws.backend, (ended - drop["t"]) / 1e6, (ended - dropped["t"]) / 1e6))
    check(ended - dropped["t"] < 500e6, "%s: ctl returned late after the drop was reported" % ws.backend)
    finish(cacher)


def killed_cacher_ends_its_drop(ws):
    cacher = ws.hold("S", "killed", hold_ms=20, lease_ms=LEASE_MS, keep_idle_ms=0,
                     extra=["--cache", "--drop-after-ms", "-1", "--linger-ms", "30000"])
    event(ws, "killed", "DROP")
    writer = ws.hold("X", "writer", hold_ms=10, lease_ms=LEASE_MS, extra=["--wait-drops"])
    event(ws, "writer", "EXIT")
    time.sleep(0.3)
    check(not ws.has_event("writer", "WAITED"), "%s: the writer did not wait for the drop" % ws.backend)
    cacher.kill()
    killed = time.monotonic_ns()
    cacher.wait()
    waited = event(ws, "writer", "WAITED")
    after = (waited["t"] - killed) / 1e6
    print("%s: a writer's wait ended %.0f ms after the caching process was killed" % (ws.backend, after))
    limit = 300 if ws.backend == "local" else LEASE_MS + 500  # redis: when the drop's lease ends
    check(after < limit, "%s: the wait lasted %.0f ms after the kill" % (ws.backend, after))
    code, err = finish(writer)
    check(code == 0, "writer exited %d: %s" % (code, err))


def paused_cacher_drops_on_wake(ws):
    """Kept idle for ever; paused past its lease; let go within ms of running again."""
    cacher = ws.hold("S", "paused", hold_ms=20, lease_ms=LEASE_MS, keep_idle_ms=10 ** 13,  # "for ever"
                     extra=["--cache", "--drop-after-ms", "0", "--linger-ms", "30000"])
    event(ws, "paused", "EXIT")
    time.sleep(0.2)
    check(not ws.has_event("paused", "DROP"), "the idle hold was not kept")
    cacher.send_signal(signal.SIGSTOP)
    wait_until(lambda: process_state(cacher.pid) == "T", 10, "the caching process to stop")
    time.sleep(LEASE_MS * 1.5 / 1000)
    cacher.send_signal(signal.SIGCONT)
    woke = time.monotonic_ns()
    writer = ws.hold("X", "writer", hold_ms=10, lease_ms=LEASE_MS)
    drop = event(ws, "paused", "DROP")
    enter = event(ws, "writer", "ENTER")
    print("redis: paused past its lease, the caching process dropped %.0f ms after SIGCONT; "
          "a writer got the lock %.0f ms after it" % ((drop["t"] - woke) / 1e6, (enter["t"] - woke) / 1e6))
    check(drop["t"] - woke < 300e6, "dropped %.0f ms after waking" % ((drop["t"] - woke) / 1e6))
    check(enter["t"] - woke < 300e6, "the writer waited %.0f ms" % ((enter["t"] - woke) / 1e6))
    code, err = finish(writer)
    check(code == 0, "writer exited %d: %s" % (code, err))
    cacher.kill()
    cacher.wait()


def main():
    with RedisServer() as server:
        for case in (ctl_waits_for_the_drop, killed_cacher_ends_its_drop, paused_cacher_drops_on_wake):
            with Workspace("redis", server) as ws:
                case(ws)
    for case in (ctl_waits_for_the_drop, killed_cacher_ends_its_drop):
        with Workspace("local") as ws:
            case(ws)
    print("ok")


if __name__ == "__main__":
    main()
