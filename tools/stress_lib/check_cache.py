"""The verdict on what the kernel may answer from its caches: reads through
mappings, os.stat, os.listdir, os.getxattr (cache_workers.py). A mixin of
check.Checker, with the same rule: an access over [r0, r1] may see state k
when k could have been in place at some instant of it; one that equals only
an older state is stale, one that equals no state is torn.

A read through a mapping is not one version (records.py, "reads through a
mapping"): it passes when each of its records is a record of an allowed
state at that place, or a zero record past the end of an allowed state and
before the end of that page (what a mapping shows there); a record that
fails its check passes when each of its words does. So a read during which
one version stood must equal it, and a read across a commit may show the old
version's records before the new one's.

A mount woken from SIGSTOP kept its caches while it was stopped, and the
writers elsewhere stopped waiting for it when its lease ran out: until it
has given up its lease in doubt and emptied them, the kernel may answer from
them. Accesses through it that start before SIGCONT + `settle` (docs/
STRESS.md) and see an older state are counted apart (`stale_within_settle`),
not as stale; a torn one is torn.
"""

import numpy as np

from . import records
from .faults import REDIS_KINDS

PAGE = 4096


def _page_end(length):
    return -(-length // PAGE) * PAGE


def _runs_array(runs, lo, hi, fill):
    out = np.full(hi - lo, fill, dtype=np.int64)
    for a, b, v in runs:
        a, b = max(a, lo), min(b, hi)
        if a < b:
            out[a - lo:b - lo] = v
    return out


class CacheChecks:

    # -- the window after a SIGCONT -----------------------------------------------

    def settling(self, e):
        """The stop fault whose mount e ran on and which e started within,
        from the SIGSTOP to SIGCONT + settle; None otherwise."""
        for f in self.faults:
            if f['kind'] in ('stop', 'stop-exclusive') and \
                    f.get('mount') == e.get('m') and \
                    f.get('t_back') is not None and \
                    f['t'] <= e['t0'] <= f['t_back'] + self.settle:
                return f
        return None

    def excused_after_wake(self, e, what):
        """True (and counted) when e's stale answer is one a woken mount
        may still give."""
        f = self.settling(e)
        if f is None:
            return False
        self.counts['stale_within_settle'] += 1
        late = e['t0'] - f['t_back']
        f['stale_within_settle'] = f.get('stale_within_settle', 0) + 1
        f['last_stale_after_wake'] = max(f.get('last_stale_after_wake',
                                               -1e9), late)
        self.problems['stale_within_settle'].append(dict(
            {k: e.get(k) for k in ('src', 'e', 'op', 'path', 'm', 't0',
                                   't1')}, what=what, after_sigcont=late))
        return True

    # -- reads through mappings ----------------------------------------------------

    def units_match(self, e, states):
        """(every unit of the mapped read e matches one of `states`, the
        read equals one of them alone)."""
        if not states:
            return False, False
        if 'values' in e:   # uniform content: every byte alone
            fills = {s['fill'] for s in states}
            ok = set(e['values']) <= fills
            return ok, ok and len(set(e['values'])) <= 1
        rm = e['recs']
        lo = e['off'] // records.RECORD
        hi = lo + e['n'] // records.RECORD
        idx = np.arange(lo, hi, dtype=np.int64)
        got = _runs_array(rm['v'], lo, hi, -1)
        zero = _runs_array([(a, b, 1) for a, b in rm['zero']], lo, hi, 0) > 0
        keys = set(rm['keys'])
        union = np.zeros(hi - lo, dtype=bool)
        alone = False
        candidates = []   # per state: (versions, inside, tail)
        for s in states:
            nrec = s['len'] // records.RECORD
            want = _runs_array(s['runs'], lo, hi, -2)
            inside = idx < nrec
            tail = ~inside & (idx * records.RECORD < _page_end(s['len']))
            ok = (inside & (got == want) & (s['key'] in keys)) | \
                (tail & zero)
            candidates.append((s, want, inside, tail))
            union |= ok
            alone = alone or (ok.all() and rm['nother'] == 0)
        if rm['nother'] > len(rm['other']):
            return False, False   # more odd records than were logged
        for rec in rm['other']:
            i = rec[0] - lo
            words = [set() for _ in range(records.WORDS)]
            for s, want, inside, tail in candidates:
                if inside[i]:
                    v = int(want[i])
                    check = int(records.check_of(s['key'], [v], [rec[0]])[0])
                    expected = (s['key'], v, rec[0], check)
                elif tail[i]:
                    expected = (0,) * records.WORDS
                else:
                    continue
                for j, w in enumerate(expected):
                    words[j].add(w)
            if all(rec[1 + j] in words[j] for j in range(records.WORDS)):
                union[i] = True
        return bool(union.all()), alone

    @staticmethod
    def sigbus_expected(e, states):
        """A SIGBUS is what a mapping gives for a page past the end of the
        file: expected when an allowed state ends before the page it read
        (a fresh mapping reads all it mapped, the size of an allowed state:
        when the allowed states end in more than one page)."""
        ends = {_page_end(s['len']) for s in states}
        if e['req'] is None:
            return len(ends) > 1
        return any(end < e['off'] + e['req'] for end in ends)

    def check_mapped(self, e):
        self.by_op['read ' + e['op']] += 1
        seq = self.model.data.get(e['path'])
        allowed = seq.allowed(e['t0'], e['t1'])
        states = [seq.items[k][1] for k in allowed
                  if seq.items[k][0] == 'data']
        if e['rc'] != 0:
            self.counts['reads_failed'] += 1
            err = e.get('err')
            if err == 'SIGBUS':
                if self.sigbus_expected(e, states):
                    self.counts['sigbus_expected'] += 1
                    self.expected_errors['%s SIGBUS: past the end of the '
                                         'file' % e['op']] += 1
                    return
                if self.reader_open_during(e):
                    # README, Kernel caching: a mapping does not follow the
                    # file while a reader of an older version has it open
                    self.counts['sigbus_older_reader'] += 1
                    self.expected_errors['%s SIGBUS: a reader of an older '
                                         'version had the dataset open'
                                         % e['op']] += 1
                    return
                self.counts['sigbus_other'] += 1
            elif err == 'ENODEV' and (e['op'] == 'mmapnew' or
                                      e.get('mapping')) and \
                    self.older_reader_open(e):
                # README, Kernel caching: newer opens read past the page
                # cache while an older reader has the dataset open
                self.counts['mapping_refused'] += 1
                self.expected_errors['%s ENODEV: another reader had the '
                                     'dataset open' % e['op']] += 1
                return
            self.classify_error(e, 'read ' + e['op'])
            return
        self.counts['reads_ok'] += 1
        if any(seq.items[k][0] == 'unknown' for k in allowed):
            self.counts['reads_unverifiable'] += 1
            return
        size_ok, size_stale = True, False
        if e['op'] == 'mmapnew':
            # the size the open found: a committed one, not an older one
            sized = seq.allowed(e['t0'], e['ts'])
            lens = {seq.items[k][1]['len'] for k in sized
                    if seq.items[k][0] == 'data'}
            size_ok = e['size'] in lens
            size_stale = not size_ok and e['size'] in {
                seq.items[k][1]['len'] for k in range(min(sized))
                if seq.items[k][0] == 'data'}
        ok, alone = self.units_match(e, states)
        if ok and size_ok:
            if not alone:
                self.counts['mapped_across_commit'] += 1
            return
        older = [seq.items[k][1] for k in range(min(allowed))
                 if seq.items[k][0] == 'data']
        if (ok or self.units_match(e, states + older)[0]) and \
                (size_ok or size_stale):
            if self.excused_after_wake(e, 'mapped read'):
                return
            self.counts['stale_reads'] += 1
            self.bad_reads['stale'][e['path'] + ' ' + e['op']] += 1
            newer = seq.items[min(allowed)][3] if min(allowed) else None
            self.problems['stale'].append(dict(
                self._brief(e), allowed=allowed, size_ok=size_ok,
                newer_returned_at=newer,
                late_by=None if newer is None else e['t0'] - newer))
            return
        newer = [seq.items[k][1] for k in range(max(allowed) + 1,
                                                 len(seq.items))
                 if seq.items[k][0] == 'data']
        if newer and self.units_match(e, states + newer)[0]:
            self.counts['future_reads'] += 1
            self.problems['future'].append(dict(self._brief(e),
                                                allowed=allowed))
            return
        self.counts['torn_reads'] += 1
        self.bad_reads['torn'][e['path'] + ' ' + e['op']] += 1
        self.problems['torn'].append(dict(self._brief(e), allowed=allowed,
                                          size_ok=size_ok))

    def _opens(self):
        """{(mount, path): [(t0, t1, op, src)]} of the writes and reads."""
        if getattr(self, '_open_index', None) is None:
            self._open_index = {}
            for x in self.entries:
                if x['e'] in ('op', 'read') and x.get('m') is not None:
                    self._open_index.setdefault((x['m'], x['path']), []).append(
                        (x['t0'], x['t1'], x['e'] + ' ' + x.get('op', ''),
                         x.get('src')))
        return self._open_index

    # Seconds after a close (or an unmap of the last mapping) that the
    # mount may still count the open: the kernel tells the daemon of the
    # release later, on its own.
    RELEASE_SLACK = 1.0

    def older_reader_open(self, e):
        """Another open of the dataset for reading on e's mount when e
        opened it, of a version that may differ from e's: the mapper's own
        kept mapping of it, or another reader's open (or one released just
        before, which the mount may not have heard of yet)."""
        if e.get('kept'):
            return True
        return any(op.startswith('read') and
                   t0 < e['t0'] < t1 + self.RELEASE_SLACK and
                   (src, t0) != (e.get('src'), e['t0']) and
                   self.changed_since(e, t0)
                   for t0, t1, op, src in self._opens().get(
                       (e['m'], e['path']), ()))

    def reader_open_during(self, e):
        """Another process's read of the dataset (not a mapping) on e's
        mount while e's mapping lived (or released just before its end,
        which the mount may not have heard of yet), of a version that may
        differ from the one e faulted in."""
        return any(op.startswith('read') and not op.startswith('read mmap') and
                   src != e.get('src') and
                   t0 < e['t1'] and e['t0'] < t1 + self.RELEASE_SLACK and
                   self.changed_since(e, t0)
                   for t0, t1, op, src in self._opens().get(
                       (e['m'], e['path']), ()))

    def changed_since(self, e, t0):
        """Whether the daemon of e's mount may take e's dataset as changed
        between t0 (when an older reader opened it) and the end of e: a
        write of the dataset (or of a group above it) came in between
        through any mount, or a write of anything through another mount or
        by an h5py program (the mount knows only what its own writers
        touched), or redis lost or rolled back its state."""
        path = e['path']
        for w0, w1, m, wpath in self._writes():
            if w0 >= e['t1']:
                break
            if w1 <= t0:
                continue
            if m != e['m'] or wpath == path or \
                    path.startswith(wpath.rstrip('/') + '/'):
                return True
        return any(f['kind'] in REDIS_KINDS
                   for f in self.faults_in(t0, e['t1']))

    def _writes(self):
        """[(t0, t1, mount or None, path)] of every write, by t0."""
        if getattr(self, '_write_index', None) is None:
            self._write_index = sorted(
                (x['t0'], x['t1'], x.get('m'), x['path'])
                for x in self.entries if x['e'] == 'op')
        return self._write_index

    @staticmethod
    def _brief(e):
        out = {k: e.get(k) for k in ('src', 'op', 'path', 'm', 't0', 't1',
                                     'off', 'req', 'n', 'size', 'ts')}
        if 'recs' in e:
            out['recs'] = dict(e['recs'], v=e['recs']['v'][:40],
                               other=e['recs']['other'][:8])
        if 'values' in e:
            out['values'] = e['values'][:16]
        return out

    # -- os.stat, os.listdir, os.getxattr ---------------------------------------------

    def meta_failed(self, e, seq):
        """A failed call; ENOENT is judged like a read's."""
        self.counts['reads_failed'] += 1
        if e.get('err') == 'ENOENT' and seq is not None:
            if any(seq.items[k][0] in ('absent', 'unknown')
                   for k in seq.allowed(e['t0'], e['t1'])):
                self.counts['reads_enoent_expected'] += 1
            elif not self.mount_was_down(e):
                if self.excused_after_wake(e, e['e'] + ' ENOENT'):
                    return
                self.counts['false_enoent'] += 1
                self.problems['false_enoent'].append(e)
            return
        self.classify_error(e, e['e'])

    def meta_bad(self, e, bad):
        if self.excused_after_wake(e, '%s %s' % (e['e'], bad)):
            return
        self.counts['stale_metadata'] += 1
        self.problems['stale_' + e['e']].append(dict(
            {k: e.get(k) for k in ('src', 'path', 'm', 't0', 't1')},
            bad=bad))

    def object_seq(self, path):
        return self.model.data.get(path) or self.model.groups.get(path)

    def check_stat(self, e):
        self.by_op['read stat'] += 1
        seq = self.object_seq(e['path'])
        if e['rc'] != 0:
            return self.meta_failed(e, seq)
        self.counts['reads_ok'] += 1
        allowed = seq.allowed(e['t0'], e['t1'])
        kinds = {seq.items[k][0] for k in allowed}
        if 'unknown' in kinds:
            return
        if kinds == {'absent'}:
            return self.meta_bad(e, 'exists; it did not')
        if e['path'] in self.model.groups:
            if not e['dir']:
                self.meta_bad(e, 'not a directory')
            return
        lens = {seq.items[k][1]['len'] for k in allowed
                if seq.items[k][0] == 'data'}
        if e['dir'] or e['size'] not in lens:
            older = {seq.items[k][1]['len'] for k in range(min(allowed))
                     if seq.items[k][0] == 'data'}
            self.meta_bad(e, 'size %d (%s), allowed %s' % (
                e['size'], 'an older one' if e['size'] in older else
                'none committed', sorted(lens)))

    def children(self, group):
        """Every path the model has whose parent is `group`."""
        prefix = group.rstrip('/') + '/'
        return [p for p in list(self.model.data) + list(self.model.groups)
                if p.startswith(prefix) and '/' not in p[len(prefix):]]

    def check_list(self, e):
        self.by_op['read listdir'] += 1
        path = e['path']
        seq = self.model.groups.get(path)
        if e['rc'] != 0:
            return self.meta_failed(e, seq)
        self.counts['reads_ok'] += 1
        r0, r1 = e['t0'], e['t1']
        if seq is not None:
            kinds = {seq.items[k][0] for k in seq.allowed(r0, r1)}
            if kinds == {'absent'}:
                return self.meta_bad(e, 'listed a group that did not exist')
        names = set(e['names'])
        bad = []
        known = set()
        for child in self.children(path):
            name = child.rsplit('/', 1)[1]
            known.add(name)
            cseq = self.object_seq(child)
            kinds = {cseq.items[k][0] for k in cseq.allowed(r0, r1)}
            if 'unknown' in kinds:
                continue
            if name in names and kinds == {'absent'}:
                bad.append((name, 'seen'))
            elif name not in names and 'absent' not in kinds:
                bad.append((name, 'missing'))
        bad += [(name, 'phantom') for name in sorted(names - known)]
        if bad:
            self.meta_bad(e, bad)

    def check_getxattr(self, e):
        self.by_op['read getxattr'] += 1
        path = e['path']
        seq = self.object_seq(path)
        if e['rc'] != 0:
            return self.meta_failed(e, seq)
        self.counts['reads_ok'] += 1
        aseq = self.model.attrs[path]
        allowed = aseq.allowed(e['t0'], e['t1'])
        items = [aseq.items[k] for k in allowed]
        if any(v[0] in ('unknown', 'absent') or (v[1] or '') == e['value']
               for v in items):
            return
        older = any((aseq.items[k][1] or '') == e['value']
                    for k in range(min(allowed)))
        self.meta_bad(e, 'stamp %r (%s), allowed %s' % (
            e['value'], 'an older one' if older else 'none committed',
            [v[1] for v in items]))
