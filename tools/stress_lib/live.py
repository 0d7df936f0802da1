"""The run as it happens, from the workers' logs (tailed): when did each
mount last complete an operation, and how many writes failed with what.
The fault schedule waits on these conditions."""

import collections
import json
import os
import threading
import time


class Live:

    def __init__(self, logdir):
        self.logdir = logdir
        self._pos = {}
        self._partial = {}
        self._lock = threading.Lock()
        self._poll_lock = threading.Lock()
        self.successes = collections.defaultdict(list)   # m -> [(t0, t1)]
        self.failed_writes = []                          # (t0, t1, err)
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, daemon=True)

    def start(self):
        self._thread.start()
        return self

    def stop(self):
        self._stop.set()
        self._thread.join(5)

    def _loop(self):
        while not self._stop.is_set():
            self.poll()
            self._stop.wait(0.05)

    def poll(self):
        with self._poll_lock:
            self._poll()

    def _poll(self):
        try:
            names = [n for n in os.listdir(self.logdir)
                     if n.endswith('.jsonl')]
        except OSError:
            return
        for name in names:
            path = os.path.join(self.logdir, name)
            try:
                with open(path, 'rb') as f:
                    f.seek(self._pos.get(name, 0))
                    chunk = f.read()
            except OSError:
                continue
            if not chunk:
                continue
            self._pos[name] = self._pos.get(name, 0) + len(chunk)
            text = self._partial.pop(name, b'') + chunk
            lines = text.split(b'\n')
            if lines[-1]:
                self._partial[name] = lines[-1]
            for line in lines[:-1]:
                try:
                    self._take(json.loads(line))
                except ValueError:
                    pass

    def _take(self, e):
        m = e.get('m')
        kind = e.get('e')
        ok = e.get('ok') if kind == 'probe' else e.get('rc') == 0
        with self._lock:
            # cache=1: the kernel may have answered without the daemon
            if m is not None and 't1' in e and ok and not e.get('cache'):
                self.successes[m].append((e['t0'], e['t1']))
            if kind == 'op' and e.get('rc') != 0:
                self.failed_writes.append((e['t0'], e['t1'], e.get('err')))

    def progressed(self, m, since):
        """The first success on mount m of an operation started at or after
        since: its end time, or None."""
        with self._lock:
            ends = [t1 for t0, t1 in self.successes.get(m, ())
                    if t0 >= since]
        return min(ends) if ends else None

    def wait_progress(self, mounts, since, timeout):
        """Wait until every mount in mounts progressed since `since`;
        {m: seconds from since or None}."""
        end = time.monotonic() + timeout
        while True:
            self.poll()
            got = {m: self.progressed(m, since) for m in mounts}
            if all(v is not None for v in got.values()) or \
                    time.monotonic() > end:
                return {m: (v - since if v is not None else None)
                        for m, v in got.items()}
            time.sleep(0.05)

    def failed_writes_since(self, since, err=None):
        with self._lock:
            return [f for f in self.failed_writes
                    if f[0] >= since and (err is None or f[2] == err)]
