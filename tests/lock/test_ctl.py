"""h5swmrfs-ctl: status (text and JSON), break, run (exit status, stdio, signals, timeout),
FILE arguments for redis and local."""
import json
import os
import re
import signal
import subprocess
import sys
import tempfile
import time

from lockfixture import CTL, RedisServer, check, wait_until

PY = sys.executable


def ctl(server, *args, **kw):
    base = [CTL, "--redis", server.url] if server else [CTL]
    return subprocess.run(base + list(args), capture_output=True, text=True, timeout=30, **kw)


def status(server, target, *extra):
    out = ctl(server, *extra, "status", target, "--json")
    check(out.returncode == 0, "status failed: %s" % out.stderr)
    return json.loads(out.stdout)


def start_run(server, *args, stdin=subprocess.PIPE):
    base = [CTL, "--redis", server.url] if server else [CTL]
    return subprocess.Popen(base + list(args), stdin=stdin, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def redis_cases(server, tmp):
    key = "ctl-test"
    # exit status, stdin/stdout pass-through
    out = ctl(server, "run", "--shared", key, "--", "sh", "-c", "exit 7")
    check(out.returncode == 7, "run exit status %d" % out.returncode)
    out = ctl(server, "run", "--exclusive", key, "--", "cat", input="hello\n")
    check(out.returncode == 0 and out.stdout == "hello\n", "stdio: %r %r" % (out.stdout, out.stderr))
    out = ctl(server, "run", "--exclusive", key, "--", "/nonexistent/cmd")
    check(out.returncode == 127, "missing command: %d" % out.returncode)

    # a holder shows in status, with pid, mount label, age; a second writer shows waiting
    holder = start_run(server, "--lease", "2", "run", "--exclusive", key, "--", PY, "-c", "import sys; sys.stdin.read()")
    wait_until(lambda: len(status(server, key)["holders"]) == 1, 10, "holder in status")
    waiter = start_run(server, "--lease", "2", "run", "--exclusive", key, "--", "true", stdin=subprocess.DEVNULL)
    st = wait_until(lambda: (lambda s: s if len(s["waiting"]) == 1 else None)(status(server, key)), 10, "waiter in status")
    h = st["holders"][0]
    check(h["mode"] == "X" and h["pid"] == holder.pid and h["mount"].startswith("h5swmrfs-ctl run"), "holder: %s" % h)
    check(h["age_seconds"] is not None and 0 <= h["age_seconds"] < 30, "age: %s" % h)
    check(st["waiting"][0]["pid"] == waiter.pid, "waiting: %s" % st["waiting"])
    text = ctl(server, "status", key).stdout
    check("exclusive" in text and "pid=%d" % holder.pid in text and "waiting: 1" in text, "text status:\n" + text)
    print(text, end="")
    gen_before = st["generation"]
    holder.stdin.close()
    check(holder.wait(10) == 0, "holder run exit %d" % holder.returncode)
    check(waiter.wait(10) == 0, "waiter run exit %d" % waiter.returncode)
    check(status(server, key)["generation"] == gen_before + 1, "generation did not move for the second writer")

    # lock timeout: exit 75
    holder = start_run(server, "--lease", "2", "run", "--shared", key, "--", PY, "-c", "import sys; sys.stdin.read()")
    wait_until(lambda: len(status(server, key)["holders"]) == 1, 10, "holder")
    out = ctl(server, "--lock-timeout", "0.3", "run", "--exclusive", key, "--", "true")
    check(out.returncode == 75 and "still taken" in out.stderr, "timeout: %d %s" % (out.returncode, out.stderr))

    # break: the hold is broken — it stays listed and keeps writers out until its lease ends,
    # even after its holder let go — the generation moves on
    gen_before = status(server, key)["generation"]
    out = ctl(server, "break", key)
    broken_at = time.monotonic()
    check(out.returncode == 0 and "1 hold broken" in out.stdout, "break: %s %s" % (out.stdout, out.stderr))
    free_in = float(re.search(r"free for others in ([0-9.]+) s", out.stdout).group(1))
    st = status(server, key)
    check([h["state"] for h in st["holders"]] == ["broken"] and st["generation"] == gen_before + 1,
          "after break: %s" % st)
    holder.stdin.close()
    holder.wait(10)
    out = ctl(server, "run", "--exclusive", key, "--", "true")
    waited = time.monotonic() - broken_at
    check(out.returncode == 0 and waited >= free_in - 0.15,
          "a writer got in %.2f s after break, before the broken lease ended (%.1f s): %s" % (waited, free_in, out.stderr))

    # broken while running: the command and everything it started are stopped, and nobody
    # gets the lock before the broken lease ends
    pidfile = os.path.join(tmp, "background.pid")
    holder = start_run(server, "--lease", "1", "run", "--exclusive", key, "--", "bash", "-c",
                       "sleep 30 & echo $! > %s; wait" % pidfile, stdin=subprocess.DEVNULL)
    wait_until(lambda: os.path.exists(pidfile) and open(pidfile).read().strip(), 10, "holder")
    background = int(open(pidfile).read())
    out = ctl(server, "break", key)
    broken_at = time.monotonic()
    code = holder.wait(10)
    err = holder.stderr.read()
    check(code == 128 + signal.SIGTERM and "stopping the command" in err, "broken run: %d %s" % (code, err))
    check(not os.path.exists("/proc/%d" % background) or "Z" in open("/proc/%d/stat" % background).read().split(")")[1][:3],
          "the command's background process survived the broken hold")
    free_in = float(re.search(r"free for others in ([0-9.]+) s", out.stdout).group(1))
    out = ctl(server, "run", "--exclusive", key, "--", "true")
    check(out.returncode == 0 and time.monotonic() - broken_at >= free_in - 0.15, "writer in before the broken lease ended")

    # signals sent to ctl reach the command
    # (Short sleeps: a signal that comes after Python last looked and before it enters a
    # long sleep waits for that sleep's end, the handler running only between bytecodes.)
    script = ("import signal,sys,time; signal.signal(signal.SIGTERM, lambda *a: sys.exit(42)); "
              "print('up', flush=True)\nfor _ in range(600): time.sleep(0.05)")
    runner = start_run(server, "run", "--shared", key, "--", PY, "-c", script, stdin=subprocess.DEVNULL)
    check(runner.stdout.readline().strip() == "up", "command did not start")
    runner.send_signal(signal.SIGTERM)
    check(runner.wait(10) == 42, "forwarded SIGTERM: exit %d" % runner.returncode)
    check(not status(server, key)["holders"], "lock left held after run")

    # a FILE argument means its canonical path
    path = os.path.join(tmp, "data.h5")
    open(path, "w").close()
    link = os.path.join(tmp, "link.h5")
    os.symlink(path, link)
    out = ctl(server, "run", "--exclusive", link, "--", "true")
    check(out.returncode == 0, "run on FILE: %s" % out.stderr)
    st = status(server, link)
    check(st["key"] == os.path.realpath(path) and st["generation"] >= 1, "FILE key: %s" % st)
    r = server.client()
    check(r.get("h5swmr:{%s}:generation" % os.path.realpath(path)) is not None, "keys not under the canonical path")


def local_cases(tmp):
    path = os.path.join(tmp, "local.h5")
    open(path, "w").close()
    sidecar = path + ".h5swmrfs-lock"
    out = ctl(None, "--lock", "local", "run", "--exclusive", path, "--", "sh", "-c", "exit 3")
    check(out.returncode == 3 and os.path.exists(sidecar), "local run: %d %s" % (out.returncode, out.stderr))
    holder = start_run(None, "--lock", "local", "run", "--shared", path, "--", PY, "-c", "import sys; sys.stdin.read()")
    st = wait_until(lambda: (lambda s: s if s["holders"] else None)(status(None, path, "--lock", "local")), 10, "local holder")
    check(st["key"] == sidecar and st["holders"][0]["pid"] == holder.pid and st["generation"] == 1, "local status: %s" % st)
    out = ctl(None, "--lock", "local", "break", path)
    check(out.returncode == 1 and "cannot be broken" in out.stderr, "local break: %s" % out.stderr)
    out = ctl(None, "--lock", "local", "--lock-timeout", "0.3", "run", "--exclusive", path, "--", "true")
    check(out.returncode == 75, "local timeout: %d %s" % (out.returncode, out.stderr))
    holder.stdin.close()
    check(holder.wait(10) == 0, "local holder exit")


def main():
    with tempfile.TemporaryDirectory() as tmp:
        with RedisServer() as server:
            redis_cases(server, tmp)
        local_cases(tmp)
        out = ctl(None, "--redis", "redis://127.0.0.1:1/0", "status", "k")
        check(out.returncode == 69 and "unreachable" in out.stderr, "unreachable: %d %s" % (out.returncode, out.stderr))
    print("ok")


if __name__ == "__main__":
    main()
