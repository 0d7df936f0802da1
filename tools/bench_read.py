#!/usr/bin/env python3
"""Read throughput through the mount, as ratios to baselines measured in the same run.

Makes a file with a 256 MiB float64 dataset (contiguous, and chunked + deflate),
mounts it with a private redis, and times:
  plain   dd bs=1M of a plain file of the same bytes (page cache warm)
  h5py    h5py reading the whole dataset directly (no mount)
  mount   dd bs=1M of the dataset through the mount
Each is the best of --repeat runs. Usage: bench_read.py [--build DIR] [--mib N] [--repeat N]
"""
import argparse
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
        start = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - start)
    return best


def dd(path):
    subprocess.run(["dd", f"if={path}", "of=/dev/null", "bs=1M", "status=none"], check=True)


def wait_for(condition, what, timeout=20.0):
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            sys.exit(f"timed out waiting for {what}")
        time.sleep(0.02)


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    ap = argparse.ArgumentParser()
    ap.add_argument("--build", default=os.path.join(here, "..", "build"))
    ap.add_argument("--mib", type=int, default=256)
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    daemon = os.path.join(args.build, "src", "cli", "h5swmrfs")

    with tempfile.TemporaryDirectory(prefix="h5swmrfs-bench.") as work:
        n = args.mib * (1 << 20) // 8
        data = np.arange(n, dtype="<f8")
        h5 = os.path.join(work, "bench.h5")
        with h5py.File(h5, "w") as f:
            f.create_dataset("contiguous", data=data)
            f.create_dataset("chunked", data=data, chunks=(1 << 17,), compression="gzip", compression_opts=1)
        plain = os.path.join(work, "plain.bin")
        data.tofile(plain)
        del data

        port = free_port()
        redis = subprocess.Popen(["redis-server", "--bind", "127.0.0.1", "--port", str(port), "--save", "",
                                  "--appendonly", "no", "--dir", work], stdout=subprocess.DEVNULL)
        mnt = os.path.join(work, "mnt")
        os.mkdir(mnt)
        daemon_proc = None
        try:
            wait_for(lambda: subprocess.run(["redis-cli", "-p", str(port), "ping"], capture_output=True).returncode == 0,
                     "redis")
            daemon_proc = subprocess.Popen([daemon, "-f", "--redis", f"redis://127.0.0.1:{port}/0", h5, mnt],
                                           stderr=subprocess.DEVNULL)
            wait_for(lambda: os.path.ismount(mnt), "the mount")

            results = {}
            results["plain"] = best_of(args.repeat, lambda: dd(plain))

            def h5py_read(name):
                with h5py.File(h5, "r") as f:
                    f[name][...]
            results["h5py contiguous"] = best_of(args.repeat, lambda: h5py_read("contiguous"))
            results["h5py chunked"] = best_of(args.repeat, lambda: h5py_read("chunked"))
            results["mount contiguous"] = best_of(args.repeat, lambda: dd(os.path.join(mnt, "contiguous")))
            results["mount chunked"] = best_of(args.repeat, lambda: dd(os.path.join(mnt, "chunked")))
        finally:
            if os.path.ismount(mnt):
                subprocess.run(["fusermount3", "-u", mnt], check=False)
            if daemon_proc:
                try:
                    daemon_proc.wait(timeout=20)
                except subprocess.TimeoutExpired:
                    daemon_proc.kill()
            redis.terminate()
            redis.wait()

    mib = args.mib
    print(f"{'read of ' + str(mib) + ' MiB':<22}{'seconds':>9}{'MiB/s':>9}{'vs plain':>10}{'vs h5py':>9}")
    for name, seconds in results.items():
        base = results["h5py chunked" if "chunked" in name else "h5py contiguous"]
        vs_h5py = f"{seconds / base:.2f}x" if not name.startswith("plain") else ""
        print(f"{name:<22}{seconds:>9.3f}{mib / seconds:>9.0f}{seconds / results['plain']:>9.2f}x{vs_h5py:>9}")


if __name__ == "__main__":
    main()
