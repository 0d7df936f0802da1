"""Mutual exclusion across processes: no writer overlaps anyone, readers do overlap."""
import contextlib
import subprocess

from lockfixture import RedisServer, Workspace, backend_from_argv, check, check_exclusion, finish, HELPER

READERS, WRITERS, ROUNDS = 5, 3, 6


def main():
    backend = backend_from_argv()
    with contextlib.ExitStack() as stack:
        server = stack.enter_context(RedisServer()) if backend == "redis" else None
        ws = stack.enter_context(Workspace(backend, server))
        procs = []
        for i in range(READERS):
            # keep_idle 0 for half the readers, so both the kept and the fresh paths run
            procs.append(ws.hold("S", "r%d" % i, hold_ms=60, count=ROUNDS, keep_idle_ms=0 if i % 2 else 1000))
        for i in range(WRITERS):
            procs.append(ws.hold("X", "w%d" % i, hold_ms=30, count=ROUNDS, gap_ms=10))
        for p in procs:
            code, err = finish(p, 60)
            check(code == 0, "%s exited %d: %s" % (p.tag, code, err))
        events = ws.events()
        enters = [e for e in events if e["ev"] == "ENTER"]
        check(len(enters) == (READERS + WRITERS) * ROUNDS, "expected every round to enter, got %d" % len(enters))
        overlaps = check_exclusion(events)
        check(overlaps > 0, "readers never overlapped")
        # Each exclusive grant moved the generation by one.
        gens = sorted(e["gen"] for e in enters if e["mode"] == "X")
        check(gens == list(range(gens[0], gens[0] + WRITERS * ROUNDS)), "writer generations not consecutive: %s" % gens)
        out = subprocess.run([HELPER] + ws.lock_args() + ["generation"], capture_output=True, text=True, check=True)
        check(int(out.stdout) == gens[-1], "current_generation %s != last writer's %d" % (out.stdout.strip(), gens[-1]))
        print("ok: %s: %d holds, %d shared overlaps, no exclusive overlap" % (backend, len(enters), overlaps))


if __name__ == "__main__":
    main()
