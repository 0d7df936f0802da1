#!/usr/bin/env bash
# Quick start: installs what is needed, builds, makes a sample HDF5 file, mounts it
# with a private redis as the lock server, reads it with ordinary tools, unmounts.
set -euo pipefail
cd "$(dirname "$0")/.."

bash tools/install-deps.sh
[ -f build/build.ninja ] || meson setup build -Dbuildtype=debugoptimized
ninja -C build

work=$(mktemp -d /tmp/h5swmrfs-quickstart.XXXXXX)
redis_pid=""
cleanup() {
    if mountpoint -q "$work/mnt" 2>/dev/null; then fusermount3 -u "$work/mnt"; fi
    if [ -n "$redis_pid" ]; then kill "$redis_pid" 2>/dev/null && wait "$redis_pid" 2>/dev/null || true; fi
    rm -rf "$work"
}
trap cleanup EXIT

# A private redis on a free loopback port: the lock server of the mounts.
port=$(/usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
redis-server --bind 127.0.0.1 --port "$port" --save '' --appendonly no --dir "$work" >"$work/redis.log" 2>&1 &
redis_pid=$!
for _ in $(seq 100); do redis-cli -p "$port" ping >/dev/null 2>&1 && break; sleep 0.1; done
redis-cli -p "$port" ping >/dev/null

step() { printf '\n\033[1m$ %s\033[0m\n' "$*"; }

/usr/bin/python3 tools/make_sample.py "$work/sample.h5"
mkdir "$work/mnt"
cd "$work"

step h5swmrfs --redis redis://127.0.0.1:$port/0 sample.h5 mnt
"$OLDPWD/build/src/cli/h5swmrfs" --redis "redis://127.0.0.1:$port/0" sample.h5 mnt

step ls -lR mnt
ls -lR mnt
step getfattr -d mnt/run1/temps
getfattr -d mnt/run1/temps
step "dd if=mnt/run1/temps bs=1M | od -f | head -4"
dd if=mnt/run1/temps bs=1M status=none | od -f | head -4
step "/usr/bin/python3 -c 'numpy.fromfile(...)'"
/usr/bin/python3 -c '
import numpy, os
p = "mnt/run1/temps"
dt = os.getxattr(p, "user.h5.dtype").decode()
shape = tuple(int(x) for x in os.getxattr(p, "user.h5.shape").decode().split(",") if x)
print(numpy.fromfile(p, dtype=dt).reshape(shape))'

step "/usr/bin/python3 -c 'numpy.save(open(\"mnt/run1/calib\", \"wb\"), ...)'   # .npy content: a typed dataset"
/usr/bin/python3 -c 'import numpy; numpy.save(open("mnt/run1/calib", "wb"), numpy.linspace(0, 1, 6, dtype="f4").reshape(2, 3))'
getfattr -d -m 'user.h5.(dtype|shape)' mnt/run1/calib
step "dd if=/dev/zero of=mnt/run1/temps bs=8 count=1 conv=notrunc   # patch the first two elements"
dd if=/dev/zero of=mnt/run1/temps bs=8 count=1 conv=notrunc status=none
step "setfattr -n user.note -v 'checked' mnt/run1/temps; mkdir mnt/run3; mv mnt/run1/calib mnt/run3/"
setfattr -n user.note -v checked mnt/run1/temps
mkdir mnt/run3
mv mnt/run1/calib mnt/run3/
ls -l mnt/run3

step fusermount3 -u mnt
fusermount3 -u mnt
step "h5ls -d sample.h5/run1/temps sample.h5/run3/calib   # what HDF5 itself now says"
h5ls -d sample.h5/run1/temps sample.h5/run3/calib
echo "quick start done"
