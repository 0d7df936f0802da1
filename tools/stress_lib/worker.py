#!/usr/bin/python3
"""A stress worker process: reader, writer, probe, h5py, crossing worker,
mmap reader or stat/list reader (the last two in cache_workers.py).

    worker.py CONFIG.json ROLE INDEX

Every operation is logged as one JSON line in LOGDIR/ROLE INDEX.jsonl with
t0 (just before it started) and t1 (just after it returned) from
time.monotonic(), the one clock every process of this machine shares (also
in other network namespaces). The checker (check.py) judges the logs after
the run; workers only do and record.

Writers use the ordinary tools (cp, dd, cat >>, truncate, mkdir, rm, rmdir,
setfattr), readers cat, dd, ls -lR, getfattr; the h5py workers run a small
h5py program (h5op.py) under `h5swmrfs-ctl run --exclusive/--shared`.
The worker stops when the stop file appears.
"""

import errno
import json
import os
import random
import re
import subprocess
import sys
import time

sys.dont_write_bytecode = True  # nothing written into the source tree
sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(
    __file__))))

from stress_lib import layout, records  # noqa: E402
from stress_lib.cache_workers import CacheReaders  # noqa: E402

# strerror text -> errno name, to classify what tools print
_MESSAGES = sorted(((os.strerror(n), errno.errorcode[n])
                    for n in errno.errorcode), key=lambda m: -len(m[0]))


def errname(stderr, rc):
    """The errno name in a tool's message ('EIO'), 'TIMEOUT', or 'RC<n>'."""
    if rc == 'timeout':
        return 'TIMEOUT'
    if 'No such attribute' in stderr:   # getfattr's words for ENODATA
        return 'ENODATA'
    for text, name in _MESSAGES:
        if text in stderr:
            return name
    return 'RC%s' % rc


class Worker(CacheReaders):

    def __init__(self, config, role, index):
        self.c = config
        self.role = role
        self.index = index
        self.rng = random.Random('%s-%s-%d' % (config['seed'], role, index))
        self.mounts = config['mounts']
        self.up = list(range(len(self.mounts)))
        self.started = {}
        self.disk_full = False
        self._up_mtime = None
        self.log = open(os.path.join(config['logdir'], '%s%d.jsonl'
                                     % (role, index)), 'a', buffering=1)
        self.tmp = os.path.join(config['tmpdir'], '%s%d' % (role, index))
        os.makedirs(self.tmp, exist_ok=True)
        self.op_timeout = config['op_timeout']
        self.unknown = set()   # paths whose state could not be resolved
        # For an unknown path: the states it may hold, as (state, failure):
        # the last known one (failure None) and those of the writes whose
        # failure could not be resolved since (failure: their 'failed' entry).
        self.maybe = {}

    # -- plumbing ---------------------------------------------------------------

    def emit(self, **entry):
        self.log.write(json.dumps(entry, separators=(',', ':')) + '\n')

    def stopping(self):
        return os.path.exists(self.c['stop_file'])

    def refresh_up(self, force=False):
        try:
            st = os.stat(self.c['up_file'])
            if force or st.st_mtime_ns != self._up_mtime:
                with open(self.c['up_file']) as f:
                    state = json.load(f)
                self.up = state['up']
                self.started = {int(m): t for m, t in
                                state.get('started', {}).items()}
                self.disk_full = state.get('disk_full', False)
                self._up_mtime = st.st_mtime_ns
        except (OSError, ValueError):
            pass

    def pick_mount(self, avoid=None):
        """Index of a mount that is up (reloaded from the up file)."""
        self.refresh_up()
        choice = [m for m in self.up if m != avoid] or self.up
        if not choice:
            return None
        return self.rng.choice(choice)

    def path(self, m, h5path):
        return self.mounts[m] + h5path

    def run(self, args, stdin=None, timeout=None):
        """(rc, stdout bytes, stderr text, t0, t1); rc 'timeout' when the
        tool had to be killed (by its PID)."""
        t0 = time.monotonic()
        proc = subprocess.Popen(args, stdin=stdin or subprocess.DEVNULL,
                                stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE)
        try:
            out, err = proc.communicate(timeout=timeout or self.op_timeout)
            rc = proc.returncode
        except subprocess.TimeoutExpired:
            proc.kill()
            out, err = proc.communicate()
            rc = 'timeout'
        t1 = time.monotonic()
        return rc, out, err.decode('utf-8', 'replace').strip(), t0, t1

    def pace(self):
        if self.c['pace'] > 0:
            time.sleep(self.rng.uniform(0, 2 * self.c['pace']))

    def main(self):
        getattr(self, 'loop_' + self.role)()
        self.log.close()

    # -- probe: one per mount ------------------------------------------------------

    def loop_probe(self):
        m = self.index
        key, runs, length = layout.initial(self.c)[0][layout.PROBE]
        want = records.state_bytes(key, runs, length)
        path = self.path(m, layout.PROBE)
        while not self.stopping():
            self.refresh_up()
            if m not in self.up:
                time.sleep(self.c['probe_interval'])
                continue
            t0 = time.monotonic()
            try:
                with open(path, 'rb') as f:
                    got = f.read()
                err = None if got == want else 'CONTENT'
            except OSError as e:
                err = errno.errorcode.get(e.errno, str(e.errno))
            t1 = time.monotonic()
            self.emit(e='probe', m=m, t0=t0, t1=t1, ok=err is None, err=err)
            time.sleep(self.c['probe_interval'])

    # -- readers --------------------------------------------------------------------

    def loop_reader(self):
        known = {p: l for p, (_, _, l) in layout.initial(self.c)[0].items()}
        xattr_paths = [layout.group_path(w) for w in range(self.c['writers'])]
        xattr_paths += [layout.fix_path(w) for w in range(self.c['writers'])]
        xattr_paths += [layout.app_path(w) for w in range(self.c['writers'])]
        xattr_paths += [layout.h5py_group(i) for i in range(self.c['h5py'])]
        slots = []
        ops = [('cat', 35), ('dd', 35), ('ls', 10), ('xattr', 20)]
        while not self.stopping():
            m = self.pick_mount()
            if m is None:
                time.sleep(0.05)
                continue
            op = self.rng.choices([o for o, _ in ops],
                                  [w for _, w in ops])[0]
            if op in ('cat', 'dd'):
                pool = list(known) + slots
                target = self.rng.choice(pool)
                size = known.get(target, 2048)
                if op == 'cat':
                    self.read(m, target, 0, None)
                else:
                    off = self.rng.randrange(0, size + 64)
                    count = self.rng.randint(1, 4096)
                    self.read(m, target, off, count)
            elif op == 'ls':
                entries = self.ls(m)
                if entries is not None:
                    slots = [p for p, (kind, _) in entries.items()
                             if kind == '-' and '/t/' in p]
                    for p, (kind, size) in entries.items():
                        if p in known:
                            known[p] = size
            else:
                group_slots = [p.rsplit('/', 1)[0] for p in slots]
                target = self.rng.choice(xattr_paths + group_slots)
                self.xattrs(m, target)
            self.pace()

    def read(self, m, h5path, off, count):
        path = self.path(m, h5path)
        if count is None:
            args = ['cat', path]
        else:
            args = ['dd', 'if=' + path, 'bs=65536', 'skip=%d' % off,
                    'count=%d' % count, 'iflag=skip_bytes,count_bytes',
                    'status=none']
        rc, out, err, t0, t1 = self.run(args)
        entry = dict(e='read', op='cat' if count is None else 'dd',
                     path=h5path, m=m, t0=t0, t1=t1, off=off, req=count,
                     rc=rc)
        if rc == 0:
            entry.update(n=len(out), sha=records.digest(out),
                         dec=records.decode(out, off))
        else:
            entry.update(err=errname(err, rc), msg=err[-200:])
        self.emit(**entry)

    def ls(self, m):
        root = self.mounts[m]
        rc, out, err, t0, t1 = self.run(['ls', '-lRAn', '--time-style=+X',
                                         root])
        # ls -R races with rmdir/rm of the slots: a directory or entry
        # that vanished between its listing and its turn is reported and
        # skipped; the rest of the listing stands.
        vanished = []
        if rc == 1:
            lines = err.splitlines()
            for line in lines:
                m_ = re.search(r"'?(%s[^']*)'?: No such file or directory"
                               % re.escape(root), line)
                if m_ and '/t/g' in m_.group(1):
                    vanished.append(m_.group(1)[len(root):])
            if len(vanished) == len(lines):
                rc = 0
        entries = None
        if rc == 0:
            entries = {}
            cur = None
            for line in out.decode('utf-8', 'replace').splitlines():
                if line.endswith(':') and line.startswith(root):
                    cur = line[len(root):-1]
                    continue
                parts = line.split()
                if cur is None or len(parts) < 7 or line.startswith('total'):
                    continue
                name = ' '.join(parts[6:])
                full = cur.rstrip('/') + '/' + name
                if not parts[4].isdigit():   # stat failed: it vanished
                    if full not in vanished:
                        vanished.append(full)
                    continue
                entries[full] = (line[0], int(parts[4]))
        self.emit(e='ls', m=m, t0=t0, t1=t1, rc=rc,
                  err=None if rc == 0 else errname(err, rc),
                  msg=None if rc == 0 else err[-200:], entries=entries,
                  vanished=vanished)
        return entries

    def xattrs(self, m, h5path):
        rc, out, err, t0, t1 = self.run(['getfattr', '-d', '-m', '-',
                                         '--absolute-names',
                                         self.path(m, h5path)])
        attrs = None
        if rc == 0 and err.strip():
            rc = 1  # getfattr -d reports a failed getxattr on stderr, yet exits 0
        if rc == 0:
            attrs = {}
            for line in out.decode('utf-8', 'replace').splitlines():
                if '=' in line and not line.startswith('#'):
                    name, value = line.split('=', 1)
                    if value.startswith('"') and value.endswith('"'):
                        value = value[1:-1]
                    attrs[name] = value
        self.emit(e='xattr', path=h5path, m=m, t0=t0, t1=t1, rc=rc,
                  err=None if rc == 0 else errname(err, rc),
                  msg=None if rc == 0 else err[-200:], attrs=attrs)

    # -- writers ----------------------------------------------------------------------

    def loop_writer(self):
        w = self.index
        self.version = 0
        init_data, init_attrs = layout.initial(self.c)
        # current committed state of every dataset this writer owns:
        # path -> {'key', 'runs', 'len', 'resizable'}
        self.ds = {}
        for path in (layout.fix_path(w), layout.app_path(w)):
            key, runs, length = init_data[path]
            self.ds[path] = dict(key=key, runs=runs, len=length,
                                 resizable=path.endswith('/app'), inc=0)
        self.attrs = {obj: init_attrs[(obj, layout.STAMP)]
                      for obj in (layout.group_path(w), layout.fix_path(w))}
        self.slot_state = ['absent'] * self.c['slots']  # absent|group|data
        self.slot_inc = [0] * self.c['slots']
        ops = [('replace_fix', 15), ('patch_fix', 20), ('append_app', 20),
               ('replace_app', 5), ('truncate_app', 4), ('setfattr', 10),
               ('slot', 26)]
        while not self.stopping():
            m = self.pick_mount()
            if m is None:
                time.sleep(0.05)
                continue
            op = self.rng.choices([o for o, _ in ops],
                                  [x for _, x in ops])[0]
            fix, app = layout.fix_path(w), layout.app_path(w)
            if fix in self.unknown and op in ('patch_fix',):
                op = 'replace_fix'
            if app in self.unknown and op in ('append_app', 'truncate_app'):
                op = 'replace_app'
            if op == 'replace_fix':
                n = self.ds[fix]['len'] // records.RECORD
                self.write_content(m, fix, 'cp', 0, n)
            elif op == 'patch_fix':
                n = self.ds[fix]['len'] // records.RECORD
                a = self.rng.randrange(0, n)
                b = min(n, a + self.rng.randint(1, max(1, n // 4)))
                self.write_content(m, fix, 'dd', a, b)
            elif op == 'append_app':
                n = self.ds[app]['len'] // records.RECORD
                if n >= self.c['app_max']:
                    self.write_content(m, app, 'cp', 0,
                                       self.rng.randint(1, 64))
                else:
                    self.write_content(m, app, 'append', n,
                                       n + self.rng.randint(1, 64))
            elif op == 'replace_app':
                self.write_content(m, app, 'cp', 0,
                                   self.rng.randint(1, self.c['app_max'] // 2))
            elif op == 'truncate_app':
                n = self.ds[app]['len'] // records.RECORD
                if n > 1:
                    self.write_content(m, app, 'truncate', 0,
                                       self.rng.randrange(1, n))
            elif op == 'setfattr':
                self.set_stamp(m, self.rng.choice(sorted(self.attrs)))
            else:
                self.slot_step(m, self.rng.randrange(self.c['slots']))
            self.pace()

    def next_version(self):
        self.version += 1
        return self.version

    def content_bytes(self, d):
        return records.content(d)

    def write_content(self, m, path, how, a, b, new=False):
        """One content write of records [a, b) at a new version: cp
        (replace; b is the new record count), dd (patch), append,
        truncate (to a records, no new bytes). Logs the op, then the new
        state, or resolves a failure by reading back."""
        d = self.ds[path]
        v = self.next_version() if how != 'truncate' else None
        old_n = d['len'] // records.RECORD
        uniform = d.get('fill') is not None   # layout.BIG: cp only
        if uniform:
            runs, length = [], d['len']
        elif how == 'cp':
            runs, length = [(0, b, v)], b * records.RECORD
        elif how == 'dd':
            runs = records.versions_to_runs(records.runs_to_versions(
                d['runs'] + [(a, b, v)], 0, old_n))
            length = d['len']
        elif how == 'append':
            runs, length = d['runs'] + [(a, b, v)], b * records.RECORD
        else:  # truncate to b records
            runs = records.versions_to_runs(records.runs_to_versions(
                d['runs'], 0, b))
            length = b * records.RECORD
        target = self.path(m, path)
        src = os.path.join(self.tmp, 'src.bin')
        if uniform:
            with open(src, 'wb') as f:
                f.write(bytes([records.fill_of(v)]) * length)
        elif how != 'truncate':
            with open(src, 'wb') as f:
                f.write(records.make(d['key'], [v] * (b - a), a))
        if how == 'cp':
            args = ['cp', src, target]
        elif how == 'dd':
            args = ['dd', 'if=' + src, 'of=' + target, 'bs=1M',
                    'seek=%d' % (a * records.RECORD), 'oflag=seek_bytes',
                    'conv=notrunc', 'status=none']
        elif how == 'append':
            args = ['sh', '-c', 'cat "$0" >> "$1"', src, target]
        else:
            args = ['truncate', '-s', str(length), target]
        rc, _, err, t0, t1 = self.run(args)
        self.emit(e='op', op=how, path=path, m=m, t0=t0, t1=t1, rc=rc,
                  v=v, a=a, b=b, err=None if rc == 0 else errname(err, rc),
                  msg=None if rc == 0 else err[-300:])
        new_state = dict(d, runs=runs, len=length)
        if uniform:
            new_state['fill'] = records.fill_of(v)
        if rc == 0:
            self.commit_state(path, new_state, t0, t1, 'op')
            self.unknown.discard(path)
            return
        # The close (or a write) failed: which content is there now?
        before = self.maybe.get(path, []) if path in self.unknown \
            else [(d, None)]
        new_bytes = self.content_bytes(new_state)
        got, tr0, tr1 = self.read_back(path, avoid=m)
        found = None if got is None else next(
            (x for x in before if got == self.content_bytes(x[0])), None)
        if got is None:
            outcome = 'unresolved'
        elif found is not None:
            outcome = 'not-visible'
        elif got == new_bytes:
            outcome = 'visible'
        elif how in ('cp', 'append') and \
                self.is_partial(d, new_state, how, got):
            outcome = 'partial'
        else:
            outcome = 'other'
        failure = dict(e='failed', op=how, path=path, m=m, t0=t0, t1=t1,
                       err=errname(err, rc), msg=err[-300:], v=v)
        self.emit(outcome=outcome, tr0=tr0, tr1=tr1,
                  n=None if got is None else len(got),
                  dec=None if got is None else self.describe(d, got, 0),
                  **failure)
        if outcome == 'not-visible' and path in self.unknown:
            # One of the states it may have held since an unresolved
            # failure: known again. If that of an earlier failed write, that
            # write turned out visible (judged as such).
            kept, earlier = found
            if earlier is not None:
                self.emit(**dict(earlier, outcome='visible', tr0=tr0, tr1=tr1,
                                 n=len(got), dec=self.describe(d, got, 0)))
            self.commit_state(path, kept, t0, tr1, 'resolved')
            self.unknown.discard(path)
        elif outcome == 'visible':
            self.commit_state(path, new_state, t0, tr1, 'resolved')
            self.unknown.discard(path)
        elif outcome == 'partial':
            n = len(got) // records.RECORD
            part = dict(d, runs=records.versions_to_runs(
                records.runs_to_versions(new_state['runs'], 0, n)),
                len=len(got))
            self.commit_state(path, part, t0, tr1, 'partial')
            self.unknown.discard(path)
        elif outcome in ('other', 'unresolved'):
            # Nothing to build on: the next write of it is a full replace.
            # Unresolved, it holds one of the states before or the new one.
            self.maybe[path] = (before + [(new_state, failure)])[-8:] \
                if outcome == 'unresolved' else []
            self.unknown.add(path)
            self.emit(e='unknown', path=path, t=time.monotonic(),
                      t0=t0)

    @staticmethod
    def describe(d, data, offset):
        """What bytes of dataset state d read at offset say about
        themselves (for the checker and the report)."""
        if d.get('fill') is not None:
            return records.fills(data, offset)
        return records.decode(data, offset)

    @staticmethod
    def is_partial(d, new_state, how, got):
        """got is the new content cut short at a record boundary (a write
        error part way: what POSIX leaves too)."""
        if len(got) % records.RECORD or new_state.get('fill') is not None:
            return False
        if how == 'cp':
            return records.content_prefix_ok(new_state, got)
        # append: old content + some of the new records
        return records.content_prefix_ok(new_state, got) and \
            len(got) >= d['len']

    def commit_state(self, path, state, t0, t1, why):
        self.ds[path] = state
        self.maybe.pop(path, None)
        self.emit(e='state', path=path, key=state['key'], t0=t0, t1=t1,
                  len=state['len'], runs=state['runs'],
                  fill=state.get('fill'), why=why)

    def ask_back(self, path, argv, on_ok, answers, avoid=None, deadline=None,
                 log=True):
        """Asks about path through an up mount (argv(mounted path) is the
        command), retried until it answers: exit 0 gives on_ok(stdout), an
        errno named in answers gives that answer. Returns (answer, t0, t1),
        or (None, None, None) when the deadline passed first."""
        end = time.monotonic() + (deadline or self.c['resolve_timeout'])
        while time.monotonic() < end:
            m = self.pick_mount(avoid=avoid)
            if m is None:
                time.sleep(0.05)
                continue
            rc, out, err, t0, t1 = self.run(argv(self.path(m, path)))
            name = None if rc == 0 else errname(err, rc)
            if log:
                self.emit(e='readback', path=path, m=m, t0=t0, t1=t1, rc=rc,
                          err=name)
            if rc == 0:
                return on_ok(out), t0, t1
            if name in answers:
                return answers[name], t0, t1
            time.sleep(0.1)
        return None, None, None

    def read_back(self, path, avoid=None, deadline=None):
        """(bytes of path, t0, t1) through an up mount; (None, t0, t1) when
        it does not exist, (None, None, None) after the deadline."""
        return self.ask_back(path, lambda p: ['cat', p], lambda out: out,
                             {'ENOENT': None}, avoid, deadline)

    def exists_back(self, path, avoid=None):
        """(exists, t1) through an up mount, or (None, None)."""
        exists, _, t1 = self.ask_back(path, lambda p: ['stat', '-c', '%F', p],
                                      lambda out: True, {'ENOENT': False},
                                      avoid)
        return exists, t1

    def set_stamp(self, m, obj):
        v = self.next_version()
        value = layout.stamp(records.key_of(obj), v)
        rc, _, err, t0, t1 = self.run(['setfattr', '-n', layout.STAMP, '-v',
                                       value, self.path(m, obj)])
        self.emit(e='op', op='setfattr', path=obj, m=m, t0=t0, t1=t1, rc=rc,
                  v=v, err=None if rc == 0 else errname(err, rc),
                  msg=None if rc == 0 else err[-300:])
        if rc == 0:
            self.attrs[obj] = value
            self.emit(e='attr', path=obj, name=layout.STAMP, value=value,
                      t0=t0, t1=t1, why='op')
            return
        got, tr1 = self.stamp_back(obj, avoid=m)
        if got == value:
            outcome = 'visible'
        elif got == self.attrs[obj]:
            outcome = 'not-visible'
        else:
            outcome = 'other' if got is not None else 'unresolved'
        self.emit(e='failed', op='setfattr', path=obj, m=m, t0=t0, t1=t1,
                  err=errname(err, rc), msg=err[-300:], v=v,
                  outcome=outcome, got=got, tr1=tr1)
        if outcome == 'visible':
            self.attrs[obj] = value
            self.emit(e='attr', path=obj, name=layout.STAMP, value=value,
                      t0=t0, t1=tr1, why='resolved')
        elif outcome == 'other':
            self.attrs[obj] = got
            self.emit(e='attr', path=obj, name=layout.STAMP, value=got,
                      t0=t0, t1=tr1, why='other')

    def stamp_back(self, obj, avoid=None):
        """(value of obj's stamp attribute, t1) through an up mount ('' when
        it has none), or (None, None)."""
        value, _, t1 = self.ask_back(
            obj, lambda p: ['getfattr', '--only-values', '-n', layout.STAMP,
                            '--absolute-names', p],
            lambda out: out.decode('utf-8', 'replace'), {'ENODATA': ''},
            avoid, log=False)
        return value, t1

    # -- crossing workers: a cut reader meets another mount's commit -----------
    #
    # A reader of the big dataset on mount B while B's own writer appends to
    # another dataset (cutting the reader's pin at once: a writer of the same
    # mount does not wait for it) and mount A replaces the big dataset: the
    # cut reader may go on only if nothing changed its dataset since its
    # open, which B decides from its own record of generations. Every
    # replace is a new byte value, so bytes of two versions in one read are
    # two values.

    READ2 = 1 << 20   # bytes asked of one read(2)

    def crossing_mounts(self):
        """(A, B): B is the mount whose daemon has been up longest (its
        record of its own generations reaches furthest back), A another
        one (B itself when it is the only one up); None when none is up."""
        self.refresh_up()
        if not self.up:
            return None
        b = min(self.up, key=lambda m: (self.started.get(m, 0), m))
        others = [m for m in self.up if m != b]
        return (others[0] if others else b), b

    def crossing_turns(self):
        """(A, B) for each turn of a crossing worker until it stops,
        waiting while no mount is up."""
        while not self.stopping():
            mounts = self.crossing_mounts()
            if mounts is None:
                time.sleep(0.05)
                continue
            yield mounts

    def loop_replacer(self):
        """Replaces layout.BIG with cp of uniform content, through mount
        A."""
        self.version = 0
        self.ds = {layout.BIG: dict(layout.crossing(self.c)[layout.BIG])}
        for a, _ in self.crossing_turns():
            self.write_content(a, layout.BIG, 'cp', 0, 0)
            self.pace()

    def loop_appender(self):
        """Appends a row at a time to layout.SIDE through mount B,
        starting again with one row once it holds side_max records."""
        self.version = 0
        self.ds = {layout.SIDE: dict(layout.crossing(self.c)[layout.SIDE])}
        row = layout.SIDE_ROW // records.RECORD
        for _, m in self.crossing_turns():
            n = self.ds[layout.SIDE]['len'] // records.RECORD
            if layout.SIDE in self.unknown or n >= self.c['side_max']:
                self.write_content(m, layout.SIDE, 'cp', 0, row)
            else:
                self.write_content(m, layout.SIDE, 'append', n, n + row)
            self.pace()

    def loop_bigreader(self):
        """Reads layout.BIG through mount B: whole with cat, or by
        read(2) calls of 1 MiB on one open (each call judged alone, and
        the open as a whole: one open sees one version)."""
        for _, m in self.crossing_turns():
            if self.rng.random() < 0.5:
                self.big_cat(m)
            else:
                self.big_reads(m)
            self.pace()

    def big_cat(self, m):
        rc, out, err, t0, t1 = self.run(['cat', self.path(m, layout.BIG)])
        entry = dict(e='read', op='cat', path=layout.BIG, m=m, t0=t0, t1=t1,
                     off=0, req=None, rc=rc)
        if rc == 0:
            entry.update(n=len(out), sha=records.digest(out),
                         dec=records.fills(out, 0))
        else:
            entry.update(err=errname(err, rc), msg=err[-200:])
        self.emit(**entry)

    def big_reads(self, m):
        path = self.path(m, layout.BIG)
        t_open = time.monotonic()
        got, off, failure = [], 0, None
        try:
            fd = os.open(path, os.O_RDONLY)
        except OSError as e:
            failure = e
            fd = None
        while fd is not None:
            t0 = time.monotonic()
            try:
                data = os.read(fd, self.READ2)
            except OSError as e:
                failure = e
                t1 = time.monotonic()
                self.emit(e='read', op='read2', path=layout.BIG, m=m, t0=t0,
                          t1=t1, off=off, req=self.READ2, rc=1,
                          err=errno.errorcode.get(e.errno, str(e.errno)),
                          msg=str(e)[-200:])
                break
            t1 = time.monotonic()
            # A call cut short before the end (the kernel returns what it
            # has when a later piece of the call fails; the next call gets
            # the error) is judged as the bytes it returned.
            short = 0 < len(data) < self.READ2 and \
                off + len(data) < self.c['big_bytes']
            self.emit(e='read', op='read2', path=layout.BIG, m=m, t0=t0,
                      t1=t1, off=off, req=len(data) if short else self.READ2,
                      short=short, rc=0, n=len(data),
                      sha=records.digest(data), dec=records.fills(data, off))
            if not data:
                break
            got.append(data)
            off += len(data)
        t_end = time.monotonic()
        if fd is not None:
            try:
                os.close(fd)
            except OSError:
                pass   # a read-only close: nothing to commit, nothing to judge
        entry = dict(e='read', op='open', path=layout.BIG, m=m, t0=t_open,
                     t1=t_end, off=0, req=None)
        if failure is None:
            whole = b''.join(got)
            entry.update(rc=0, n=len(whole), sha=records.digest(whole),
                         dec=records.fills(whole, 0))
        else:
            entry.update(rc=1, err=errno.errorcode.get(failure.errno,
                                                       str(failure.errno)),
                         msg=str(failure)[-200:])
        self.emit(**entry)

    # -- slots: groups and datasets that come and go ------------------------------------

    def slot_step(self, m, s):
        w = self.index
        g, dpath = layout.slot_group(w, s), layout.slot_dataset(w, s)
        state = self.slot_state[s]
        if state == 'absent':
            self.ns_op(m, s, 'mkdir', g, True, 'group')
        elif state == 'group':
            if self.rng.random() < 0.3:
                self.ns_op(m, s, 'rmdir', g, False, 'group')
            elif self.rng.random() < 0.3:
                self.set_stamp_slot(m, g)
            else:
                self.create_dataset(m, s)
        else:
            r = self.rng.random()
            if dpath in self.unknown or r < 0.4:
                n = self.rng.randint(1, 64)
                self.write_content(m, dpath, 'cp', 0, n)
            elif r < 0.6:
                n = self.ds[dpath]['len'] // records.RECORD
                self.write_content(m, dpath, 'append', n,
                                   n + self.rng.randint(1, 16))
            else:
                self.ns_op(m, s, 'rm', dpath, False, 'dataset')

    def set_stamp_slot(self, m, g):
        if g not in self.attrs:
            self.attrs[g] = ''
        self.set_stamp(m, g)

    def ns_op(self, m, s, tool, path, exists, kind):
        rc, _, err, t0, t1 = self.run([tool, self.path(m, path)])
        self.emit(e='op', op=tool, path=path, m=m, t0=t0, t1=t1, rc=rc,
                  err=None if rc == 0 else errname(err, rc),
                  msg=None if rc == 0 else err[-300:])
        ok = rc == 0
        if not ok:
            got, tr1 = self.exists_back(path, avoid=m)
            outcome = 'unresolved' if got is None else \
                ('visible' if got == exists else 'not-visible')
            self.emit(e='failed', op=tool, path=path, m=m, t0=t0, t1=t1,
                      err=errname(err, rc), msg=err[-300:], outcome=outcome,
                      tr1=tr1)
            if outcome != 'visible':
                if outcome == 'unresolved':
                    self.emit(e='unknown', path=path, t=time.monotonic(),
                              t0=t0)
                return
            t1 = tr1
        self.emit(e='ns', path=path, kind=kind, exists=exists, t0=t0, t1=t1)
        if kind == 'group':
            self.slot_state[s] = 'group' if exists else 'absent'
            if exists:
                # a new group has no stamp
                self.attrs[path] = ''
                self.emit(e='attr', path=path, name=layout.STAMP, value='',
                          t0=t0, t1=t1, why='mkdir')
            else:
                self.attrs.pop(path, None)
        else:
            self.slot_state[s] = 'data' if exists else 'group'
            if not exists:
                self.ds.pop(path, None)
                self.unknown.discard(path)
                self.maybe.pop(path, None)

    def create_dataset(self, m, s):
        """cp onto a new name: the dataset appears empty at open, then has
        its content at close (two states)."""
        w = self.index
        path = layout.slot_dataset(w, s)
        self.slot_inc[s] += 1
        key = records.key_of(path, self.slot_inc[s])
        v = self.next_version()
        n = self.rng.randint(1, 64)
        src = os.path.join(self.tmp, 'src.bin')
        with open(src, 'wb') as f:
            f.write(records.make(key, [v] * n, 0))
        rc, _, err, t0, t1 = self.run(['cp', src, self.path(m, path)])
        self.emit(e='op', op='create', path=path, m=m, t0=t0, t1=t1, rc=rc,
                  v=v, a=0, b=n, err=None if rc == 0 else errname(err, rc),
                  msg=None if rc == 0 else err[-300:])
        empty = dict(key=key, runs=[], len=0, resizable=True,
                     inc=self.slot_inc[s])
        full = dict(empty, runs=[(0, n, v)], len=n * records.RECORD)
        if rc == 0:
            self.emit(e='ns', path=path, kind='dataset', exists=True, t0=t0,
                      t1=t1)
            self.emit(e='state', path=path, key=key, t0=t0, t1=t1, len=0,
                      runs=[], why='create')
            self.commit_state(path, full, t0, t1, 'op')
            self.slot_state[s] = 'data'
            return
        got, tr0, tr1 = self.read_back(path, avoid=m)
        if got is None and tr1 is not None:
            outcome = 'not-visible'
        elif got is None:
            outcome = 'unresolved'
        elif got == b'':
            outcome = 'empty'
        elif got == self.content_bytes(full):
            outcome = 'visible'
        elif records.content_prefix_ok(full, got):
            outcome = 'partial'
        else:
            outcome = 'other'
        self.emit(e='failed', op='create', path=path, m=m, t0=t0, t1=t1,
                  err=errname(err, rc), msg=err[-300:], v=v, outcome=outcome,
                  tr0=tr0, tr1=tr1, n=None if got is None else len(got))
        if outcome in ('not-visible', 'unresolved'):
            if outcome == 'unresolved':
                self.emit(e='unknown', path=path, t=time.monotonic(), t0=t0)
            return
        self.emit(e='ns', path=path, kind='dataset', exists=True, t0=t0,
                  t1=tr1)
        self.emit(e='state', path=path, key=key, t0=t0, t1=tr1, len=0,
                  runs=[], why='create')
        self.ds[path] = empty
        self.slot_state[s] = 'data'
        if outcome == 'visible':
            self.commit_state(path, full, t0, tr1, 'resolved')
        elif outcome == 'partial':
            k = len(got) // records.RECORD
            self.commit_state(path, dict(full, runs=[(0, k, v)],
                                         len=len(got)), t0, tr1, 'partial')
        elif outcome == 'other':
            self.unknown.add(path)
            self.maybe.pop(path, None)
            self.emit(e='unknown', path=path, t=time.monotonic(), t0=t0)

    # -- h5py programs under h5swmrfs-ctl ------------------------------------------

    def loop_h5py(self):
        i = self.index
        path = layout.h5py_data(i)
        key, runs, length = layout.initial(self.c)[0][path]
        self.version = 0
        self.ds = {path: dict(key=key, runs=runs, len=length,
                              resizable=False, inc=0)}
        readable = [p for p in layout.initial(self.c)[0]]
        h5op = os.path.join(os.path.dirname(os.path.abspath(__file__)),
                            'h5op.py')
        env = dict(os.environ)
        env.pop('HDF5_USE_FILE_LOCKING', None)  # as a user's program has it
        while not self.stopping():
            # An h5py program writing the file itself on a full disk leaves
            # it damaged (HDF5 is not ENOSPC-safe): no h5swmrfs can help it,
            # so while the tool fills the disk these programs only read. The
            # busy file says a write may be under way: it exists before the
            # flag is read, and the tool fills the disk only once it is gone.
            busy = os.path.join(self.c['tmpdir'], 'h5py%d.busy' % i)
            open(busy, 'w').close()
            self.refresh_up(force=True)
            writing = not self.disk_full and self.rng.random() < 0.6
            if not writing:
                os.unlink(busy)
            if writing:
                v = self.next_version()
                n = length // records.RECORD
                args = self.c['ctl_run']['exclusive'] + [
                    sys.executable, h5op, 'write', self.c['h5file'], path,
                    str(key), str(v), str(n), layout.h5py_group(i),
                    layout.stamp(records.key_of(layout.h5py_group(i)), v)]
                rc, out, err, t0, t1 = self.run_env(args, env)
                self.emit(e='op', op='h5py-write', path=path, m=None, t0=t0,
                          t1=t1, rc=rc, v=v,
                          err=None if rc == 0 else errname(err, rc),
                          msg=None if rc == 0 else err[-300:])
                new = dict(self.ds[path], runs=[(0, n, v)])
                if rc == 0:
                    self.commit_state(path, new, t0, t1, 'op')
                    self.emit(e='attr', path=layout.h5py_group(i),
                              name=layout.STAMP, value=layout.stamp(
                                  records.key_of(layout.h5py_group(i)), v),
                              t0=t0, t1=t1, why='op')
                else:
                    got, tr0, tr1 = self.read_back(path)
                    old_b = self.content_bytes(self.ds[path])
                    outcome = 'unresolved' if got is None else (
                        'not-visible' if got == old_b else
                        'visible' if got == self.content_bytes(new) else
                        'other')
                    self.emit(e='failed', op='h5py-write', path=path, m=None,
                              t0=t0, t1=t1, err=errname(err, rc),
                              # all of it: the line that says the hold was lost
                              # may be followed by the lock's reconnect lines
                              msg=err[-3000:], v=v, outcome=outcome, tr1=tr1)
                    if outcome == 'visible':
                        self.commit_state(path, new, t0, tr1, 'resolved')
                    elif outcome in ('other', 'unresolved'):
                        # stopped part way when its hold was lost (README:
                        # ctl cannot undo what the program wrote): unknown
                        # until the next write replaces all of it
                        self.emit(e='unknown', path=path,
                                  t=time.monotonic(), t0=t0)
                    # the stamp: whatever is there is read back next time
                    stamp_now, st1 = self.stamp_back(layout.h5py_group(i))
                    if stamp_now is not None:
                        self.emit(e='attr', path=layout.h5py_group(i),
                                  name=layout.STAMP, value=stamp_now,
                                  t0=t0, t1=st1, why='resolved')
                os.unlink(busy)
            else:
                picks = self.rng.sample(readable, min(3, len(readable)))
                args = self.c['ctl_run']['shared'] + [
                    sys.executable, h5op, 'read', self.c['h5file']] + picks
                rc, out, err, t0, t1 = self.run_env(args, env)
                if rc == 0:
                    try:
                        res = json.loads(out)
                    except ValueError:
                        res = None
                if rc == 0 and res:
                    for p, r in res['data'].items():
                        entry = dict(e='read', op='h5py', path=p, m=None,
                                     t0=res['t_open'], t1=t1, off=0,
                                     req=None, rc=0)
                        if 'error' in r:
                            entry.update(rc=1, err='H5PY', msg=r['error'])
                        else:
                            entry.update(n=r['n'], sha=r['sha'],
                                         dec=r['dec'])
                        self.emit(**entry)
                else:
                    self.emit(e='read', op='h5py', path=','.join(picks),
                              m=None, t0=t0, t1=t1, off=0, req=None,
                              rc=rc, err=errname(err, rc), msg=err[-300:])
            self.pace()

    def run_env(self, args, env):
        t0 = time.monotonic()
        proc = subprocess.Popen(args, stdin=subprocess.DEVNULL,
                                stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, env=env)
        try:
            out, err = proc.communicate(timeout=self.op_timeout)
            rc = proc.returncode
        except subprocess.TimeoutExpired:
            proc.kill()
            out, err = proc.communicate()
            rc = 'timeout'
        return rc, out, err.decode('utf-8', 'replace').strip(), t0, \
            time.monotonic()


def main(argv):
    with open(argv[1]) as f:
        config = json.load(f)
    Worker(config, argv[2], int(argv[3])).main()


if __name__ == '__main__':
    main(sys.argv)
