#!/usr/bin/env python3
"""Throughput through the mount, as ratios to baselines measured in the same run.

  bench.py read   a 256 MiB float64 dataset (contiguous, and chunked + deflate):
                    plain  dd bs=1M of a plain file of the same bytes (page cache warm)
                    h5py   h5py reading the whole dataset directly (no mount)
                    mount  dd bs=1M of the dataset through the mount
  bench.py parallel  gzip+shuffle float32 datasets of --mib MiB each (1 MiB chunks), and a
                    contiguous one; every mount read is a first read (a new mount each time):
                    h5py             h5py's ds[...] of one of them (no mount)
                    1 reader         dd bs=1M of one through the mount
                    4 readers        4 dd at once, each of another dataset
                    plain            dd bs=1M of a plain file of the contiguous bytes
                    contiguous       dd bs=1M of the contiguous dataset
                  each also with --no-cache, --no-direct (every read through HDF5) and
                  --no-cache --threads 1 (one decoding thread);
                  `busy`: the machine's cores busy on average during the best run (what
                  one reader leaves idle is all that more readers can use)
  bench.py write  cp of a 1 GiB file:
                    plain         cp to a plain file on the same disk
                    plain synced  the same, then fsync of the copy
                    h5py          h5py writing the same bytes into a new dataset (no mount)
                    h5py synced   the same, then fsync of the HDF5 file
                    mount         cp into a new dataset through the mount (its commit
                                  syncs the file and its journal before close returns)
Each is the best of --repeat runs, each started with no dirty pages (sync). write needs
about 16 GiB free in $TMPDIR with the defaults (every run keeps its copy until the end).
Usage: bench.py read|write|parallel|appends|metadata [--build DIR] [--mib N] [--repeat N]
"""
import argparse
import errno
import os
import socket
import subprocess
import sys
import tempfile
import time

import h5py
import numpy as np


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def best_of(repeat, fn):
    best = float("inf")
    for _ in range(repeat):
        os.sync()  # the dirty pages of the run before are not this run's to write
        start = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - start)
    return best


def dd(path):
    subprocess.run(["dd", f"if={path}", "of=/dev/null", "bs=1M", "status=none"], check=True)


def fsync_path(path):
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def wait_for(condition, what, timeout=20.0):
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            sys.exit(f"timed out waiting for {what}")
        time.sleep(0.02)


class Mount:
    """A private redis and one mount of `h5` on `mnt`, torn down on exit."""

    def __init__(self, daemon, h5, work, args=(), beside=None):
        """`beside`: another Mount of the same file, whose redis this one shares."""
        self.daemon, self.h5, self.work, self.args, self.beside = daemon, h5, work, list(args), beside
        self.mnt = os.path.join(work, "mnt2" if beside else "mnt")

    def __enter__(self):
        os.makedirs(self.mnt, exist_ok=True)
        self.redis = None
        self.proc = None
        if self.beside:
            port = self.port = self.beside.port
        else:
            port = self.port = free_port()
            self.redis = subprocess.Popen(["redis-server", "--bind", "127.0.0.1", "--port", str(port), "--save", "",
                                           "--appendonly", "no", "--dir", self.work], stdout=subprocess.DEVNULL)
        try:
            wait_for(lambda: subprocess.run(["redis-cli", "-p", str(port), "ping"],
                                            capture_output=True).returncode == 0, "redis")
            self.proc = subprocess.Popen([self.daemon, "-f", "--redis", f"redis://127.0.0.1:{port}/0"] + self.args +
                                         [self.h5, self.mnt], stderr=subprocess.DEVNULL)
            wait_for(lambda: os.path.ismount(self.mnt), "the mount")
        except BaseException:
            self.__exit__(None, None, None)
            raise
        return self.mnt

    def __exit__(self, *exc):
        if os.path.ismount(self.mnt):
            subprocess.run(["fusermount3", "-u", self.mnt], check=False)
        if self.proc:
            try:
                self.proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        if self.redis:
            self.redis.terminate()
            self.redis.wait()


def bench_read(args, daemon, work):
    n = args.mib * (1 << 20) // 8
    data = np.arange(n, dtype="<f8")
    h5 = os.path.join(work, "bench.h5")
    with h5py.File(h5, "w") as f:
        f.create_dataset("contiguous", data=data)
        f.create_dataset("chunked", data=data, chunks=(1 << 17,), compression="gzip", compression_opts=1)
    plain = os.path.join(work, "plain.bin")
    data.tofile(plain)
    del data

    def h5py_read(name):
        with h5py.File(h5, "r") as f:
            f[name][...]

    results = {"plain": best_of(args.repeat, lambda: dd(plain)),
               "h5py contiguous": best_of(args.repeat, lambda: h5py_read("contiguous")),
               "h5py chunked": best_of(args.repeat, lambda: h5py_read("chunked"))}
    # First reads (a new mount each time: nothing in the kernel's cache nor the daemon's),
    # with and without --no-cache; then the reads that follow a first one in the same mount
    # (with the page cache, while no one writes, the kernel answers alone).
    for name in ("contiguous", "chunked"):
        for label, extra in (("first", ["--cache"]), ("first, no-cache", ["--no-cache"])):
            firsts = []
            for _ in range(args.repeat):
                with Mount(daemon, h5, work, extra) as mnt:
                    firsts.append(best_of(1, lambda: dd(os.path.join(mnt, name))))
                    if len(firsts) == 1:
                        again = "again" if extra == ["--cache"] else "again, no-cache"
                        results[f"mount {name} {again}"] = best_of(args.repeat, lambda: dd(os.path.join(mnt, name)))
            results[f"mount {name} {label}"] = min(firsts)
    return results


def warm(path):
    """Reads `path` so that its pages are in the page cache (a machine may page out what
    was not read for a while): a run measures the mount, not the disk."""
    with open(path, "rb") as f:
        while f.read(1 << 24):
            pass


def dd_all(paths):
    """dd of every path at once; returns when all are read."""
    readers = [subprocess.Popen(["dd", f"if={path}", "of=/dev/null", "bs=1M", "status=none"]) for path in paths]
    for reader in readers:
        if reader.wait() != 0:
            sys.exit(f"dd failed: {reader.args}")


def bench_parallel(args, daemon, work):
    n = args.mib * (1 << 20) // 4
    rng = np.random.default_rng(1)
    h5 = os.path.join(work, "bench.h5")
    names = [f"gzip{i}" for i in range(4)]
    with h5py.File(h5, "w") as f:
        for name in names:
            # A random walk: compresses about as well as measured data does (half, with shuffle).
            data = np.cumsum(rng.standard_normal(n)).astype("<f4")
            f.create_dataset(name, data=data, chunks=(1 << 18,), compression="gzip", shuffle=True)
        f.create_dataset("contiguous", data=data)
    plain = os.path.join(work, "plain.bin")
    data.tofile(plain)
    del data

    def h5py_read():
        with h5py.File(h5, "r") as f:
            f[names[0]][...]

    def first_reads(extra, paths):
        """Best seconds of reading `paths` at once, each run on a new mount, and the
        cores busy (the whole machine's) during that run."""
        best = (float("inf"), 0.0)
        for _ in range(args.repeat):
            warm(h5)
            with Mount(daemon, h5, work, extra) as mnt:
                os.stat(os.path.join(mnt, paths[0]))  # the mount answers
                before = cpu_times()
                seconds = best_of(1, lambda: dd_all([os.path.join(mnt, p) for p in paths]))
                best = min(best, (seconds, busy_cores(before, cpu_times())))
        return best

    results = {"h5py": (best_of(args.repeat, h5py_read), None), "plain": (best_of(args.repeat, lambda: dd(plain)), None)}
    # The default (page cache, direct path), without the page cache (every read one
    # request of dd's size straight into its buffer), without the direct path, and
    # with one decoding thread (one reader then leaves a core to the others).
    for label, extra in (("", []), (", --no-cache", ["--no-cache"]), (", --no-direct", ["--no-direct"]),
                         (", --no-cache --threads 1", ["--no-cache", "--threads", "1"])):
        results["1 reader" + label] = first_reads(extra, names[:1])
        results["4 readers" + label] = first_reads(extra, names)
        results["contiguous" + label] = first_reads(extra, ["contiguous"])
    return results


def cpu_times():
    """(idle, total) clock ticks of the whole machine so far (/proc/stat)."""
    with open("/proc/stat") as f:
        ticks = [int(t) for t in f.readline().split()[1:]]
    return ticks[3] + ticks[4], sum(ticks[:8])


def busy_cores(before, after):
    """Cores busy on average between two cpu_times() (ticks of 10 ms: a rough figure)."""
    idle, total = after[0] - before[0], after[1] - before[1]
    return os.cpu_count() * (1 - idle / total) if total else 0.0


def print_parallel(args, results):
    mib = args.mib
    print(f"{'datasets of ' + str(mib) + ' MiB':<36}{'seconds':>9}{'MiB/s':>9}{'busy':>6}  ratio")
    for name, (seconds, busy) in results.items():
        volume = 4 * mib if name.startswith("4 readers") else mib
        rate = volume / seconds
        if name.startswith("1 reader"):
            ratio = f"{results['h5py'][0] / seconds:.2f}x h5py's ds[...]"
        elif name.startswith("4 readers"):
            one = results["1 reader" + name[len("4 readers"):]][0]
            ratio = f"{rate / (mib / one):.2f}x one reader"
        elif name.startswith("contiguous"):
            ratio = f"{rate / (mib / results['plain'][0]):.2f}x dd of a plain file"
        else:
            ratio = ""
        cores = f"{busy:6.1f}" if busy is not None else " " * 6
        print(f"{name:<36}{seconds:>9.3f}{rate:>9.0f}{cores}  {ratio}")


def bench_write(args, daemon, work):
    source = os.path.join(work, "source.bin")
    with open(source, "wb") as f:
        block = np.random.default_rng(1).integers(0, 255, 1 << 20, dtype=np.uint8).tobytes()
        for _ in range(args.mib):
            f.write(block)
    h5 = os.path.join(work, "bench.h5")
    counter = iter(range(1 << 30))

    def cp(target):
        subprocess.run(["cp", source, target], check=True)

    def cp_synced(target):
        cp(target)
        fsync_path(target)

    def h5py_write(synced=False):
        with h5py.File(h5, "a") as f:
            f.create_dataset(f"h5py{next(counter)}", data=np.fromfile(source, dtype=np.uint8),
                             chunks=(1 << 16,), maxshape=(None,))
        if synced:
            fsync_path(h5)

    with h5py.File(h5, "w"):
        pass
    results = {"plain": best_of(args.repeat, lambda: cp(os.path.join(work, f"plain{next(counter)}.bin"))),
               "plain synced": best_of(args.repeat,
                                       lambda: cp_synced(os.path.join(work, f"plain{next(counter)}.bin"))),
               "h5py": best_of(args.repeat, h5py_write),
               "h5py synced": best_of(args.repeat, lambda: h5py_write(synced=True))}
    with Mount(daemon, h5, work) as mnt:
        results["mount"] = best_of(args.repeat, lambda: cp(os.path.join(mnt, f"new{next(counter)}")))
    return results


def append_rows(target, row, count):
    """`cat row >> target`, `count` times, from one shell: seconds taken."""
    start = time.perf_counter()
    subprocess.run(["bash", "-c", 'for ((i = 0; i < $2; i++)); do cat "$1" >> "$3"; done', "appends",
                    row, str(count), target], check=True)
    return time.perf_counter() - start


class BusyHost:
    """`processes` idle processes holding `descriptors` open descriptors each, like the
    login node of a cluster; killed by PID on exit."""

    def __init__(self, processes, descriptors):
        self.processes, self.descriptors = processes, descriptors
        self.children = []

    def __enter__(self):
        fds = [os.open("/dev/null", os.O_RDONLY) for _ in range(self.descriptors)]
        try:
            for _ in range(self.processes):
                self.children.append(subprocess.Popen(["sleep", "3600"], pass_fds=fds, stdin=subprocess.DEVNULL,
                                                      stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
        except BaseException:
            self.__exit__(None, None, None)
            raise
        finally:
            for fd in fds:
                os.close(fd)
        return self

    def __exit__(self, *exc):
        for child in self.children:
            child.kill()
        for child in self.children:
            child.wait()


def bench_appends(args, daemon, work):
    """Commits per second of `cat row >> ds` (one 32-byte row each), on an idle host and
    with 1000 extra processes holding 50 descriptors each: a close must not cost more
    on a busy host."""
    count = args.appends
    row = os.path.join(work, "row.bin")
    with open(row, "wb") as f:
        f.write(np.arange(8, dtype="<i4").tobytes())
    h5 = os.path.join(work, "bench.h5")
    with h5py.File(h5, "w") as f:
        f.create_dataset("rows", shape=(0, 8), maxshape=(None, 8), dtype="<i4", chunks=(1024, 8))
    plain = os.path.join(work, "plain.bin")
    results = {"plain": best_of(args.repeat, lambda: append_rows(plain, row, count))}
    with Mount(daemon, h5, work) as mnt:
        target = os.path.join(mnt, "rows")
        results["mount, idle host"] = best_of(args.repeat, lambda: append_rows(target, row, count))
        with BusyHost(1000, 50):
            results["mount, busy host"] = best_of(args.repeat, lambda: append_rows(target, row, count))
    with h5py.File(h5, "r") as f:
        rows = f["rows"].shape[0]
    expected = count * (2 * args.repeat)
    if rows != expected:
        sys.exit(f"the dataset has {rows} rows, {expected} were appended")
    return results


def print_appends(args, results):
    print(f"{str(args.appends) + ' appends of 32 B':<22}{'seconds':>9}{'commits/s':>11}{'vs idle':>9}")
    idle = results["mount, idle host"]
    for name, seconds in results.items():
        vs_idle = f"{idle / seconds:.2f}x" if name.startswith("mount") else ""
        print(f"{name:<22}{seconds:>9.3f}{args.appends / seconds:>11.0f}{vs_idle:>9}")


def quiet(command):
    """Runs `command`, its output thrown away; exits when it fails."""
    subprocess.run(command, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def stats_per_second(path, seconds=1.0):
    """os.stat calls per second on `path`."""
    calls, start = 0, time.perf_counter()
    while time.perf_counter() - start < seconds:
        for _ in range(100):
            os.stat(path)
        calls += 100
    return calls / (time.perf_counter() - start)


def memmap_sum(repeat, path):
    """Best seconds of summing `path` through numpy.memmap(mode="r"), or how it fails."""
    try:
        return best_of(repeat, lambda: float(np.memmap(path, dtype="<f4", mode="r").sum()))
    except OSError as e:
        return f"fails, {errno.errorcode.get(e.errno, e.errno)}"


def bench_metadata(args, daemon, work):
    """Everyday tools on a file of many small datasets (`--datasets`, in groups of 100,
    each with one attribute) against HDF5's own tools on the same file, and stat and
    memmap of a dataset against a plain file."""
    h5 = os.path.join(work, "bench.h5")
    groups = max(1, args.datasets // 100)
    with h5py.File(h5, "w") as f:
        for g in range(groups):
            group = f.create_group(f"g{g:03d}")
            for d in range(min(100, args.datasets - 100 * g)):
                ds = group.create_dataset(f"d{d:03d}", data=np.arange(4, dtype="<i4"))
                ds.attrs["units"] = "K"
        f.create_dataset("floats", data=np.arange(args.mib * (1 << 18), dtype="<f4"))
    plain = os.path.join(work, "plain.bin")
    np.arange(args.mib * (1 << 18), dtype="<f4").tofile(plain)
    def mkdir_beside(mount, name):
        """Seconds of a mkdir through a second mount while `mount` caches the whole tree:
        the change waits for the first mount to forget it (Kernel caching)."""
        quiet(["ls", "-lR", mount.mnt])
        with Mount(daemon, h5, work, ["--cache"], beside=mount) as other:
            return best_of(1, lambda: os.mkdir(os.path.join(other, name)))

    rows = [("stat of a dataset, calls/s", None, stats_per_second(plain), "plain file"),
            ("ls -lR", None, best_of(args.repeat, lambda: quiet(["h5ls", "-r", h5])), "h5ls -r"),
            ("getfattr -R -d", None, best_of(args.repeat, lambda: quiet(["h5dump", "-H", h5])), "h5dump -H"),
            ("numpy.memmap sum", None, memmap_sum(args.repeat, plain), "plain file")]
    mkdir = os.path.join(work, "plain-dir")
    rows.append(("mkdir beside a cached tree", None, best_of(1, lambda: os.mkdir(mkdir)), "plain mkdir"))
    mount = Mount(daemon, h5, work, ["--cache"])
    with mount as mnt:
        os.stat(os.path.join(mnt, "g000", "d000"))
        mounted = [lambda: stats_per_second(os.path.join(mnt, "g000", "d000")),
                   lambda: best_of(args.repeat, lambda: quiet(["ls", "-lR", mnt])),
                   lambda: best_of(args.repeat, lambda: quiet(["getfattr", "-R", "-d", mnt])),
                   lambda: memmap_sum(args.repeat, os.path.join(mnt, "floats")),
                   lambda: mkdir_beside(mount, "new")]
        rows = [(what, measure(), base, base_name) for (what, _, base, base_name), measure in zip(rows, mounted)]
    return rows


def print_metadata(args, rows):
    print(f"{str(args.datasets) + ' datasets':<28}{'mount':>12}{'baseline':>12}  {'ratio':<8}baseline")
    for what, mount, base, base_name in rows:
        if isinstance(mount, str):
            print(f"{what:<28}{mount:>12}{base:>12.3f}  {'-':<8}{base_name}")
            continue
        # calls/s: how many times fewer; seconds: how many times longer
        ratio = base / mount if what.endswith("calls/s") else mount / base
        print(f"{what:<28}{mount:>12.3f}{base:>12.3f}  {ratio:<8.2f}{base_name}")


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    ap = argparse.ArgumentParser()
    ap.add_argument("what", choices=["read", "write", "parallel", "appends", "metadata"])
    ap.add_argument("--build", default=os.path.join(here, "..", "build"))
    ap.add_argument("--mib", type=int)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--appends", type=int, default=100, help="appends per run of the appends case")
    ap.add_argument("--datasets", type=int, default=10000, help="datasets of the metadata case")
    args = ap.parse_args()
    args.mib = args.mib or {"read": 256, "metadata": 256, "parallel": 256}.get(args.what, 1024)
    daemon = os.path.join(args.build, "src", "cli", "h5swmrfs")

    bench = {"read": bench_read, "write": bench_write, "parallel": bench_parallel, "appends": bench_appends,
             "metadata": bench_metadata}[args.what]
    with tempfile.TemporaryDirectory(prefix="h5swmrfs-bench.") as work:
        results = bench(args, daemon, work)
    if args.what == "appends":
        print_appends(args, results)
        return
    if args.what == "metadata":
        print_metadata(args, results)
        return
    if args.what == "parallel":
        print_parallel(args, results)
        return

    print(f"{args.what + ' of ' + str(args.mib) + ' MiB':<34}{'seconds':>9}{'MiB/s':>9}{'vs plain':>10}{'vs h5py':>9}")
    for name, seconds in results.items():
        base = results.get("h5py chunked" if "chunked" in name else "h5py contiguous", results.get("h5py"))
        vs_h5py = f"{seconds / base:.2f}x" if not name.startswith("plain") else ""
        print(f"{name:<34}{seconds:>9.3f}{args.mib / seconds:>9.0f}{seconds / results['plain']:>9.2f}x{vs_h5py:>9}")


if __name__ == "__main__":
    main()
