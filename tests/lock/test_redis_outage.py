"""Redis killed and restarted while operations hold and wait: they fail (EIO) or succeed
cleanly, none proceeds unlocked. Redis gone past the timeout: EIO. check_reachable
gives one clear line for unreachable, wrong password, missing password, bad database."""
import signal
import subprocess

from lockfixture import HELPER, RedisServer, Workspace, check, check_exclusion, finish, free_port, wait_until

LEASE_MS = 2000


def check_line(url, password=None):
    args = [HELPER, "--redis", url, "--key", "k"] + (["--password", password] if password else []) + ["check"]
    out = subprocess.run(args, capture_output=True, text=True, timeout=20)
    return out.returncode, (out.stdout + out.stderr).strip()


def outage():
    with RedisServer() as server, Workspace("redis", server) as ws:
        r = server.client()
        lock = dict(lease_ms=LEASE_MS, timeout_ms=8000)
        holder = ws.hold("X", "holder", hold_ms=20000, **lock)
        wait_until(lambda: ws.has_event("holder", "WRITE"), 10, "holder")
        waiters = [ws.hold("S", "reader", hold_ms=100, **lock), ws.hold("X", "writer", hold_ms=100, **lock)]
        wait_until(lambda: r.zcard("h5swmr:{%s}:writers" % ws.key) == 1, 10, "the waiting writer")
        server.kill(signal.SIGKILL)
        # The holder must stop writing once it cannot know that redis still has its lease.
        code, err = finish(holder, 10)
        check(code == 3, "holder exited %d after redis died (want 3, refused): %s" % (code, err))
        server.start()
        results = {}
        for w in waiters:
            code, err = finish(w, 20)
            check(code in (0, 5), "%s exited %d (want 0 or 5 EIO): %s" % (w.tag, code, err))
            results[w.tag] = code
        check_exclusion(ws.events())
        print("restart: holder refused; waiters: %s" % results)

        # Redis away for longer than the timeout: EIO, not EBUSY, and not a grant.
        server.kill(signal.SIGKILL)
        late = ws.hold("X", "late", hold_ms=100, lease_ms=LEASE_MS, timeout_ms=1500)
        code, err = finish(late, 15)
        check(code == 5, "acquire while redis is down exited %d (want 5, EIO): %s" % (code, err))
        check(not ws.has_event("late", "ENTER"), "entered without redis")
        print("down: %s" % err.strip().splitlines()[-1])
        server.start()


def reachability():
    port = free_port()
    code, line = check_line("redis://127.0.0.1:%d/0" % port)
    check(code == 5 and "unreachable" in line and "\n" not in line, "unreachable: %d %r" % (code, line))
    print(line)
    with RedisServer(password="s3cret") as server:
        code, line = check_line(server.url, "wrong")
        check(code == 5 and "wrong password" in line, "wrong password: %d %r" % (code, line))
        print(line)
        code, line = check_line(server.url)
        check(code == 5 and "requires a password" in line, "no password: %d %r" % (code, line))
        print(line)
        code, line = check_line("redis://:s3cret@127.0.0.1:%d/99" % server.port)
        check(code == 5 and "database 99 does not exist" in line, "bad db: %d %r" % (code, line))
        print(line)
        code, line = check_line(server.url, "s3cret")
        check(code == 0, "right password: %d %r" % (code, line))
        code, line = check_line("redis://:s3cret@127.0.0.1:%d/3" % server.port)
        check(code == 0, "password in URL, db 3: %d %r" % (code, line))
        code, line = check_line("unix://%s?db=2" % server.socket, "s3cret")
        check(code == 0, "unix socket: %d %r" % (code, line))
    code, line = check_line("http://127.0.0.1/")
    check(code == 1 and "bad redis URL" in line, "bad URL: %d %r" % (code, line))


if __name__ == "__main__":
    reachability()
    outage()
    print("ok")
