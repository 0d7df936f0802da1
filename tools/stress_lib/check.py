"""The verdict of a stress run, from the workers' logs.

Model: for every HDF5 path the writers' logs give a *sequence* of states,
each in place from some moment in [t0, t1] of the operation that made it
(t0 = just before the tool started, t1 = just after it returned) until the
next state of the path replaced it. A dataset's states are its content
(records.py) or 'absent'; a group's are present/absent; an attribute's its
value. A state the writer could not establish after a failure is 'unknown'.

A read over [r0, r1] may see state k when k could have been in place at some
instant of it: t0(k) < r1 and (k is the last, or t1(k+1) > r0). Then:

  matches an allowed state ............ ok
  matches an older state only ......... stale (a commit had returned before
                                        the read started; it saw what was
                                        there before)
  matches a newer state only .......... future (impossible; a bug)
  matches no state of the path ........ torn (a mixture of versions, or
                                        bytes no write produced)
"""

import collections
import json
import math
import os

from . import layout, records
from .check_cache import CacheChecks
from .faults import REDIS_KINDS

NEG = -math.inf


class Seq:
    """One path's states: list of [kind, value, t0, t1]; kind 'data',
    'absent', 'present' (groups), 'attr', 'unknown'."""

    def __init__(self, first_kind, first_value):
        self.items = [[first_kind, first_value, NEG, NEG]]

    def add(self, kind, value, t0, t1):
        self.items.append([kind, value, t0, t1])

    def allowed(self, r0, r1):
        out = []
        n = len(self.items)
        for k, item in enumerate(self.items):
            if item[2] >= r1 and k:
                break
            if k + 1 < n and self.items[k + 1][3] <= r0:
                continue
            out.append(k)
        return out

    def last(self):
        return self.items[-1]


class Model:

    def __init__(self, config):
        self.c = config
        self.data = {}     # path -> Seq of content ('data' value = state)
        self.groups = {}   # path -> Seq of present/absent
        self.attrs = {}    # path -> Seq of stamp values ('' = none)
        self.failed_versions = collections.defaultdict(dict)  # path -> {v: op}
        init_data, init_attrs = layout.initial(config)
        for path, (key, runs, length) in init_data.items():
            self.data[path] = Seq('data', dict(key=key, runs=runs,
                                               len=length))
        for w in range(config['writers']):
            self.groups[layout.group_path(w)] = Seq('present', None)
            self.groups['/w%d/t' % w] = Seq('present', None)
            for s in range(config['slots']):
                self.groups[layout.slot_group(w, s)] = Seq('absent', None)
                self.data[layout.slot_dataset(w, s)] = Seq('absent', None)
                self.attrs[layout.slot_group(w, s)] = Seq('absent', None)
        for i in range(config['h5py']):
            self.groups[layout.h5py_group(i)] = Seq('present', None)
        for (obj, _), value in init_attrs.items():
            self.attrs[obj] = Seq('attr', value)
        cross = layout.crossing(config)
        if cross:
            self.groups[layout.CROSS] = Seq('present', None)
            for path, state in cross.items():
                self.data[path] = Seq('data', dict(state))

    def feed(self, e):
        kind = e['e']
        if kind == 'state':
            self.data[e['path']].add('data', dict(key=e['key'],
                                                  runs=e['runs'],
                                                  len=e['len'],
                                                  fill=e.get('fill')),
                                     e['t0'], e['t1'])
        elif kind == 'ns':
            if e['kind'] == 'group':
                self.groups[e['path']].add(
                    'present' if e['exists'] else 'absent', None,
                    e['t0'], e['t1'])
                if not e['exists']:
                    self.attrs[e['path']].add('absent', None, e['t0'],
                                              e['t1'])
            elif not e['exists']:
                self.data[e['path']].add('absent', None, e['t0'], e['t1'])
        elif kind == 'attr':
            self.attrs[e['path']].add('attr', e['value'], e['t0'], e['t1'])
        elif kind == 'unknown':
            for table in (self.data, self.groups, self.attrs):
                if e['path'] in table:
                    table[e['path']].add('unknown', None, e['t0'], e['t0'])
        elif kind == 'failed' and e.get('v') is not None:
            self.failed_versions[e['path']][e['v']] = e


def _interval_overlaps(a0, a1, b0, b1):
    return a0 <= b1 and b0 <= a1


class Checker(CacheChecks):

    def __init__(self, config, faults, lease, settle=None):
        self.c = config
        self.model = Model(config)
        self.faults = faults
        self.lease = lease
        self.grace = max(1.0, lease) + 2.0
        # after SIGCONT, how long a woken mount may still answer from the
        # caches it kept while stopped (docs/STRESS.md)
        self.settle = lease / 3 if settle is None else settle
        self.counts = collections.Counter()
        self.by_op = collections.Counter()
        self.expected_errors = collections.Counter()
        self.unexpected_errors = collections.Counter()
        self.problems = collections.defaultdict(list)   # kind -> details
        # 'torn'/'stale' -> {'PATH OP': count}: where the bad reads were
        self.bad_reads = collections.defaultdict(collections.Counter)
        self.entries = []
        self.successes = collections.defaultdict(list)  # m -> [(t0, t1)]
        self.write_successes = []                       # (m, t0, t1)

    # -- loading -----------------------------------------------------------------

    def load(self, logdir):
        for name in sorted(os.listdir(logdir)):
            if not name.endswith('.jsonl'):
                continue
            with open(os.path.join(logdir, name)) as f:
                for line in f:
                    try:
                        e = json.loads(line)
                    except ValueError:
                        continue   # a line cut by a killed worker
                    e['src'] = name[:-len('.jsonl')]
                    self.entries.append(e)
        # The model: per writer, in log order (each writer's own log is in
        # order; paths are owned by one writer).
        for e in self.entries:
            if e['e'] in ('state', 'ns', 'attr', 'unknown', 'failed'):
                self.model.feed(e)
        for e in self.entries:
            m = e.get('m')
            if m is None or 't1' not in e:
                continue
            ok = e.get('ok') if e['e'] == 'probe' else e.get('rc') == 0
            # cache=1: the kernel may have answered without the daemon, so
            # its success says nothing of the daemon's progress
            if ok and not e.get('cache'):
                self.successes[m].append((e['t0'], e['t1']))
                if e['e'] == 'op':
                    self.write_successes.append((m, e['t0'], e['t1']))
        for m in self.successes:
            self.successes[m].sort()

    # -- faults ------------------------------------------------------------------

    def faults_in(self, t0, t1, mount=None):
        """The faults whose window [start, end + grace] overlaps [t0, t1]
        (and that struck `mount`, if given)."""
        return [f for f in self.faults
                if (mount is None or f.get('mount') == mount) and
                _interval_overlaps(t0, t1, f['t'], f['t_end'] + self.grace)]

    def in_fault(self, t0, t1, mount=None):
        """The first of faults_in(t0, t1, mount), or None."""
        return next(iter(self.faults_in(t0, t1, mount)), None)

    def kill_of(self, e):
        """A kill of e's mount whose window overlaps e, or None. (Not only
        the first fault of the mount then: the grace of one just before, a
        stop, may still run when the kill comes.)"""
        return next((f for f in self.faults_in(e['t0'], e['t1'],
                                               mount=e.get('m'))
                     if f['kind'].startswith('kill-')), None)

    def mount_was_down(self, e):
        """ENOENT from a mount whose daemon was killed: once its mount is
        detached, the empty mount point directory is what the path meets."""
        f = self.kill_of(e)
        if f is None:
            return False
        self.expected_errors['ENOENT on the detached mount during %s'
                             % f['kind']] += 1
        return True

    def set_cut_lines(self, cut_lines):
        """{mount: [(t, path)]} of the daemons' 'changed by a writer while
        open' lines: a reader whose pinned hold was cut by a writer and whose
        dataset may have changed gets EIO (README, Writing)."""
        self.cut_lines = cut_lines

    def is_cut_reader(self, e):
        if e.get('err') != 'EIO' or e.get('m') is None:
            return False
        for t, path in getattr(self, 'cut_lines', {}).get(e['m'], ()):
            if e['t0'] - 0.05 <= t <= e['t1'] + 0.5 and \
                    path == e.get('path', layout.PROBE):
                return True
        return False

    def classify_error(self, e, what):
        err = e.get('err') or 'RC%s' % e.get('rc')
        if self.is_cut_reader(e):
            self.expected_errors['%s EIO: cut reader (changed by a writer '
                                 'while open)' % what] += 1
            self.counts['cut_reader_eio'] += 1
            return
        f = self.in_fault(e['t0'], e['t1'])
        key = '%s %s' % (what, err)
        if f is not None:
            self.expected_errors['%s during %s' % (key, f['kind'])] += 1
        else:
            self.unexpected_errors[key] += 1
            self.problems['unexpected_op_error'].append(
                {k: e.get(k) for k in ('src', 'e', 'op', 'path', 'm', 't0',
                                       't1', 'err', 'msg')})

    # -- the checks --------------------------------------------------------------

    def check(self):
        for e in self.entries:
            kind = e['e']
            if kind == 'read':
                self.check_read(e)
            elif kind == 'ls':
                self.check_ls(e)
            elif kind == 'xattr':
                self.check_xattr(e)
            elif kind == 'stat':
                self.check_stat(e)
            elif kind == 'list':
                self.check_list(e)
            elif kind == 'getxattr':
                self.check_getxattr(e)
            elif kind == 'probe':
                self.counts['probes'] += 1
                if not e['ok']:
                    if e['err'] == 'CONTENT':
                        self.counts['torn_reads'] += 1
                        self.bad_reads['torn'][layout.PROBE + ' probe'] += 1
                        self.problems['torn'].append(e)
                    else:
                        self.classify_error(dict(e, rc=1,
                                                 path=layout.PROBE), 'probe')
            elif kind == 'op':
                self.by_op['write ' + e['op']] += 1
                if e['rc'] == 0:
                    self.counts['writes_committed'] += 1
                else:
                    self.counts['writes_failed'] += 1
                    self.classify_error(e, 'write ' + e['op'])
            elif kind == 'failed':
                self.check_failed(e)
            elif kind == 'readback':
                if e['rc'] != 0 and e.get('err') != 'ENOENT':
                    self.classify_error(e, 'read-back')
            elif kind == 'unknown':
                self.counts['unknown_states'] += 1

    def check_failed(self, e):
        out = e['outcome']
        self.counts['failed_write_' + out.replace('-', '_')] += 1
        # A write whose close() failed must not be visible — unless the
        # daemon that ran it died (then nobody can know) or the failure was a
        # write error part way (POSIX keeps what was written before).
        msg = e.get('msg') or ''
        died = e.get('err') in ('ENOTCONN', 'ECONNABORTED') or \
            'Transport endpoint' in msg
        # An h5py program under `h5swmrfs-ctl run` writes the file itself:
        # when ctl loses the hold (redis restarted under it) it stops the
        # program and fails, but cannot take back what the program already
        # wrote (docs/LOCKING.md: a lease cannot fence a program that writes
        # on its own). Its outcome is unknown, not a violation.
        lost_hold = e.get('op') == 'h5py-write' and (
            ('hold' in msg and ('lost' in msg or 'not confirmed' in msg))
            or 'lease renewal failed' in msg or 'release failed' in msg
            or 'could not be renewed' in msg
            or 'restarted' in msg)
        if out == 'visible' and not died and not lost_hold:
            self.problems['failed_write_visible'].append(e)
        elif out == 'partial' and 'close' in msg:
            self.problems['failed_write_partial'].append(e)
        elif out == 'other' and not lost_hold:
            self.problems['failed_write_left_other_content'].append(e)

    def _state_matches(self, state, e):
        if state is None:
            return False
        if state.get('fill') is not None:
            return records.uniform_matches(state, e['off'], e['req'], e['n'],
                                           e['dec'])
        data = records.state_bytes(state['key'], state['runs'],
                                   state['len'], e['off'], e['req'])
        return len(data) == e['n'] and records.digest(data) == e['sha']

    def check_read(self, e):
        if e['op'] in ('mmap', 'mmapnew'):
            return self.check_mapped(e)
        self.by_op['read ' + e['op']] += 1
        path = e['path']
        seq = self.model.data.get(path)
        if e['rc'] != 0:
            self.counts['reads_failed'] += 1
            if seq is not None and e.get('err') == 'ENOENT':
                allowed = seq.allowed(e['t0'], e['t1'])
                if any(seq.items[k][0] in ('absent', 'unknown')
                       for k in allowed):
                    self.counts['reads_enoent_expected'] += 1
                    return
                if not self.mount_was_down(e):
                    self.counts['false_enoent'] += 1
                    self.problems['false_enoent'].append(e)
                return
            self.classify_error(e, 'read ' + e['op'])
            return
        self.counts['reads_ok'] += 1
        if e.get('short'):
            self.counts['short_reads'] += 1
        if seq is None:
            self.problems['read_of_unknown_path'].append(e)
            return
        allowed = seq.allowed(e['t0'], e['t1'])
        for k in allowed:
            kind, state = seq.items[k][0], seq.items[k][1]
            if kind == 'unknown':
                self.counts['reads_unverifiable'] += 1
                return
            if kind == 'data' and self._state_matches(state, e):
                return
        lo, hi = min(allowed), max(allowed)
        for k in range(lo - 1, -1, -1):
            if seq.items[k][0] == 'data' and \
                    self._state_matches(seq.items[k][1], e):
                if self.excused_after_wake(e, 'read'):
                    return
                self.counts['stale_reads'] += 1
                self.bad_reads['stale'][path + ' ' + e['op']] += 1
                self.problems['stale'].append(dict(
                    e, saw_state=k, allowed=allowed,
                    newer_returned_at=seq.items[k + 1][3],
                    late_by=e['t0'] - seq.items[k + 1][3]))
                return
        for k in range(hi + 1, len(seq.items)):
            if seq.items[k][0] == 'data' and \
                    self._state_matches(seq.items[k][1], e):
                self.counts['future_reads'] += 1
                self.problems['future'].append(dict(e, saw_state=k,
                                                    allowed=allowed))
                return
        self.counts['torn_reads'] += 1
        self.bad_reads['torn'][path + ' ' + e['op']] += 1
        versions = {r[2] for r in e['dec'].get('runs', [])}
        failed = [v for v in versions
                  if v in self.model.failed_versions.get(path, {})]
        self.problems['torn'].append(dict(
            e, allowed=allowed,
            allowed_states=[seq.items[k][:1] + seq.items[k][2:] +
                            ([seq.items[k][1]['fill']] if seq.items[k][0] ==
                             'data' and seq.items[k][1].get('fill') else [])
                            for k in allowed],
            versions_of_failed_writes=failed))

    def check_ls(self, e):
        self.by_op['read ls'] += 1
        if e['rc'] != 0:
            self.counts['reads_failed'] += 1
            self.classify_error(e, 'ls')
            return
        entries = e['entries']
        if not entries and self.kill_of(e) is not None:
            # the killed daemon's mount was detached: `ls -R` of the mount
            # point lists the empty directory beneath it
            self.expected_errors['empty ls of the detached mount'] += 1
            return
        self.counts['reads_ok'] += 1
        r0, r1 = e['t0'], e['t1']
        bad = []
        vanished = e.get('vanished') or []

        def gone(path):
            return any(path == v or path.startswith(v + '/')
                       for v in vanished)
        for path, seq in self.model.groups.items():
            kinds = {seq.items[k][0] for k in seq.allowed(r0, r1)}
            if 'unknown' in kinds or gone(path):
                continue
            seen = path in entries
            if seen and kinds == {'absent'} or not seen and \
                    kinds == {'present'}:
                bad.append((path, 'seen' if seen else 'missing',
                            sorted(kinds)))
        for path, seq in self.model.data.items():
            allowed = seq.allowed(r0, r1)
            kinds = {seq.items[k][0] for k in allowed}
            if 'unknown' in kinds or gone(path):
                continue
            seen = path in entries
            if seen and kinds == {'absent'} or not seen and \
                    'absent' not in kinds:
                bad.append((path, 'seen' if seen else 'missing',
                            sorted(kinds)))
            elif seen:
                sizes = {seq.items[k][1]['len'] for k in allowed
                         if seq.items[k][0] == 'data'}
                if entries[path][1] not in sizes:
                    bad.append((path, 'size %d' % entries[path][1],
                                sorted(sizes)))
        known = set(self.model.groups) | set(self.model.data)
        for path in entries:
            if path not in known:
                bad.append((path, 'phantom', []))
        if bad and not self.excused_after_wake(e, 'ls %s' % bad[:3]):
            self.counts['stale_metadata'] += 1
            self.problems['stale_ls'].append(dict(
                {k: e[k] for k in ('src', 'm', 't0', 't1')}, bad=bad))

    def check_xattr(self, e):
        self.by_op['read getfattr'] += 1
        path = e['path']
        r0, r1 = e['t0'], e['t1']
        gseq = self.model.groups.get(path) or self.model.data.get(path)
        if e['rc'] != 0:
            self.counts['reads_failed'] += 1
            if e.get('err') == 'ENOENT' and gseq is not None and any(
                    gseq.items[k][0] in ('absent', 'unknown')
                    for k in gseq.allowed(r0, r1)):
                self.counts['reads_enoent_expected'] += 1
                return
            if e.get('err') == 'ENOENT' and not self.mount_was_down(e):
                self.counts['false_enoent'] += 1
                self.problems['false_enoent'].append(e)
                return
            if e.get('err') != 'ENOENT':
                self.classify_error(e, 'getfattr')
            return
        self.counts['reads_ok'] += 1
        attrs = e['attrs']
        bad = []
        aseq = self.model.attrs.get(path)
        if aseq is not None:
            got = attrs.get(layout.STAMP, '')
            allowed = aseq.allowed(r0, r1)
            values = [aseq.items[k] for k in allowed]
            if not any(v[0] == 'unknown' or v[0] == 'absent' or
                       (v[1] or '') == got for v in values):
                older = [k for k in range(min(allowed))
                         if (aseq.items[k][1] or '') == got]
                bad.append(('stamp', got, [v[1] for v in values],
                            'stale' if older else 'unknown value'))
        dseq = self.model.data.get(path)
        if dseq is not None and 'user.h5.shape' in attrs:
            allowed = dseq.allowed(r0, r1)
            states = [dseq.items[k] for k in allowed]
            if not any(s[0] != 'data' for s in states):
                shapes = set()
                for s in states:
                    n = s[1]['len']
                    # slot datasets are made by cp: 1-D |u1
                    shapes.add('%d' % n if path.endswith('/d') else
                               '%d,4' % (n // records.RECORD))
                if attrs['user.h5.shape'] not in shapes:
                    bad.append(('shape', attrs['user.h5.shape'],
                                sorted(shapes)))
        if bad and not self.excused_after_wake(e, 'getfattr %s' % bad):
            self.counts['stale_metadata'] += 1
            self.problems['stale_xattr'].append(dict(
                {k: e[k] for k in ('src', 'path', 'm', 't0', 't1')},
                bad=bad))

    # -- progress after faults ------------------------------------------------------

    def stalls(self, mounts):
        out = []
        for f in self.faults:
            if 'skipped' in f:
                # not injected: what stalled meanwhile (the tool's own shared hold
                # while it looked for a waiting writer) is no fault's doing
                out.append(dict(f, stall=None, per_mount={}, write_stall=None))
                continue
            survivors = [m for m in range(mounts) if m != f.get('mount')
                         or f['kind'] in REDIS_KINDS + ('disk-full',)]
            per = {}
            for m in survivors:
                t = f['t']
                nxt = [t1 for t0, t1 in self.successes.get(m, [])
                       if t0 >= t]
                per[m] = (min(nxt) - t) if nxt else None
            ws = [t1 - f['t'] for m, t0, t1 in self.write_successes
                  if t0 >= f['t'] and m in survivors]
            worst = None if any(v is None for v in per.values()) else \
                max(per.values() or [0])
            rec = dict(f, stall=worst, per_mount=per,
                       write_stall=min(ws) if ws else None)
            if f.get('mount') is not None and f.get('t_back') is not None:
                back = [t1 for t0, t1 in self.successes.get(f['mount'], [])
                        if t0 >= f['t_back']]
                rec['faulted_mount_back_after'] = \
                    (min(back) - f['t_back']) if back else None
            out.append(rec)
        return out

    # -- final content ----------------------------------------------------------------

    def final_expectations(self):
        """{path: ('data', state) | ('absent',) | ('present',) |
        ('unknown',)} and {path: stamp or None}."""
        data = {}
        for path, seq in self.model.data.items():
            kind, value = seq.last()[:2]
            data[path] = (kind, value)
        groups = {p: seq.last()[0] for p, seq in self.model.groups.items()}
        attrs = {}
        for p, seq in self.model.attrs.items():
            kind, value = seq.last()[:2]
            attrs[p] = (kind, value)
        return data, groups, attrs
