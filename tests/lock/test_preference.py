"""Writer preference: under a continuous stream of readers a writer gets in after the
reads in flight, not after the stream ends."""
import contextlib

from lockfixture import RedisServer, Workspace, backend_from_argv, check, check_exclusion, finish, wait_until

READERS, READ_MS, ROUNDS = 4, 200, 14


def main():
    backend = backend_from_argv()
    with contextlib.ExitStack() as stack:
        server = stack.enter_context(RedisServer()) if backend == "redis" else None
        ws = stack.enter_context(Workspace(backend, server))
        readers = []
        for i in range(READERS):
            readers.append(ws.hold("S", "r%d" % i, hold_ms=READ_MS, count=ROUNDS, keep_idle_ms=5000))
            wait_until(lambda: ws.has_event("r%d" % i, "ENTER"), 10, "reader r%d" % i)
        # the stream is running: every reader has entered at least once more
        wait_until(lambda: sum(e["ev"] == "ENTER" for e in ws.events()) >= 2 * READERS, 10, "reader stream")
        writer = ws.hold("X", "w", hold_ms=50)
        code, err = finish(writer, 20)
        check(code == 0, "writer exited %d: %s" % (code, err))
        wait_ev, enter_ev, exit_ev = ws.first("w", "WAIT"), ws.first("w", "ENTER"), ws.first("w", "EXIT")
        latency = (enter_ev["t"] - wait_ev["t"]) / 1e9
        for r in readers:
            code, err = finish(r, 30)
            check(code == 0, "%s exited %d: %s" % (r.tag, code, err))
        events = ws.events()
        check_exclusion(events)
        later = [e for e in events if e["ev"] == "ENTER" and e["mode"] == "S" and e["t"] > exit_ev["t"]]
        check(len(later) >= READERS, "the reader stream had ended before the writer got in")
        # readers that asked after the writer queued waited behind it (250 ms for the notice to spread)
        cutoff = wait_ev["t"] + 250_000_000
        jumped = [e for e in events if e["ev"] == "ENTER" and e["mode"] == "S" and cutoff < e["t"] < enter_ev["t"]]
        check(not jumped, "%d readers entered while the writer waited" % len(jumped))
        check(latency < READ_MS / 1000 + 1.0, "writer waited %.2f s behind %d ms reads" % (latency, READ_MS))
        print("ok: %s: writer waited %.3f s; %d reads after it" % (backend, latency, len(later)))


if __name__ == "__main__":
    main()
