#!/usr/bin/python3
"""The stress tool's verdict on what the kernel may answer from its caches
(tools/stress_lib/check_cache.py), on made-up logs: each case is a history
of commits and one access, and the figure it must move; and how a writer
reads back a write that failed. No mount: this runs in a second, and shows
that each check catches what it is for."""

import json
import os
import shutil
import sys
import tempfile
import unittest

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(HERE)),
                                'tools'))
sys.dont_write_bytecode = True

from stress_lib import check, layout, mapping, records, worker  # noqa: E402

CONFIG = dict(writers=1, h5py=0, n_fix=256, n_app0=64, slots=1,
              big_bytes=1 << 16, seed='t')
FIX, APP, BIG = layout.fix_path(0), layout.app_path(0), layout.BIG
KEY = records.key_of(FIX)
N = CONFIG['n_fix']


def state(path, t0, t1, runs, length, key=None, fill=None):
    return dict(e='state', src='writer0', path=path, t0=t0, t1=t1,
                key=key or records.key_of(path), runs=runs, len=length,
                fill=fill)


def fix_bytes(runs):
    return records.state_bytes(KEY, runs, N * records.RECORD)


def mapped(data, t0, t1, off=0, op='mmap', m=0, path=FIX, **extra):
    kind = 'uniform' if path == BIG else 'records'
    piece = data[off:] if op == 'mmapnew' else data
    e = dict(e='read', src='mapper0', op=op, path=path, m=m, t0=t0, t1=t1,
             off=off, req=None if op == 'mmapnew' else len(data), rc=0,
             n=len(piece), size=len(data), cache=1)
    e.update(mapping.describe(piece, off, kind))
    e.update(extra)
    return e


class Verdict(unittest.TestCase):

    def judge(self, entries, faults=()):
        checker = check.Checker(CONFIG, list(faults), lease=2.0)
        checker.entries = [dict(e) for e in entries]
        for e in checker.entries:
            if e['e'] in ('state', 'ns', 'attr', 'unknown', 'failed'):
                checker.model.feed(e)
        checker.check()
        return checker

    # Two versions of /w0/fix: v1 committed over [10, 11], v2 over [20, 21].
    V1 = [(0, N, 1)]
    V2 = [(0, N, 2)]
    HISTORY = [state(FIX, 10, 11, V1, N * 32), state(FIX, 20, 21, V2, N * 32)]

    def test_a_mapping_read_of_the_one_version_standing_passes(self):
        c = self.judge(self.HISTORY + [mapped(fix_bytes(self.V2), 22, 22.1)])
        self.assertEqual(c.counts['reads_ok'], 1)
        self.assertEqual(c.counts['stale_reads'] + c.counts['torn_reads'], 0)

    def test_old_bytes_after_the_commit_returned_are_stale(self):
        c = self.judge(self.HISTORY + [mapped(fix_bytes(self.V1), 22, 22.1)])
        self.assertEqual(c.counts['stale_reads'], 1)

    def test_old_then_new_records_across_a_commit_pass(self):
        data = fix_bytes([(0, N // 2, 1), (N // 2, N, 2)])
        c = self.judge(self.HISTORY + [mapped(data, 20.5, 20.6)])
        self.assertEqual(c.counts['stale_reads'] + c.counts['torn_reads'], 0)
        self.assertEqual(c.counts['mapped_across_commit'], 1)

    def test_a_mix_after_the_commit_returned_is_stale(self):
        data = fix_bytes([(0, N // 2, 1), (N // 2, N, 2)])
        c = self.judge(self.HISTORY + [mapped(data, 21.5, 21.6)])
        self.assertEqual(c.counts['stale_reads'], 1)

    def test_a_record_cut_between_two_allowed_versions_passes(self):
        data = bytearray(fix_bytes(self.V1))
        data[8:16] = fix_bytes(self.V2)[8:16]   # record 0: v2's version word
        c = self.judge(self.HISTORY + [mapped(bytes(data), 20.5, 20.6)])
        self.assertEqual(c.counts['stale_reads'] + c.counts['torn_reads'], 0)
        # ... but not while one version stood
        c = self.judge(self.HISTORY + [mapped(bytes(data), 15, 15.1)])
        self.assertEqual(c.counts['future_reads'], 1)

    def test_bytes_no_writer_wrote_are_torn(self):
        data = bytearray(fix_bytes(self.V2))
        data[100] ^= 0xff
        c = self.judge(self.HISTORY + [mapped(bytes(data), 22, 22.1)])
        self.assertEqual(c.counts['torn_reads'], 1)
        zeros = bytes(len(data))   # a page of zeros inside a fixed dataset
        c = self.judge(self.HISTORY + [mapped(zeros, 22, 22.1)])
        self.assertEqual(c.counts['torn_reads'], 1)

    def test_a_part_at_an_offset(self):
        data = fix_bytes(self.V2)[4096:8192]
        c = self.judge(self.HISTORY + [mapped(data, 22, 22.1, off=4096)])
        self.assertEqual(c.counts['stale_reads'] + c.counts['torn_reads'], 0)
        data = fix_bytes(self.V1)[4096:8192]
        c = self.judge(self.HISTORY + [mapped(data, 22, 22.1, off=4096)])
        self.assertEqual(c.counts['stale_reads'], 1)

    # -- SIGBUS ------------------------------------------------------------------

    def sigbus(self, path, t0, t1, off, req, op='mmap'):
        return dict(e='read', src='mapper0', op=op, path=path, m=0, t0=t0,
                    t1=t1, off=off, req=req, rc=1, err='SIGBUS', cache=1)

    def test_sigbus_in_a_fixed_dataset_is_a_failure(self):
        c = self.judge(self.HISTORY + [self.sigbus(FIX, 22, 22.1, 0, 8192)])
        self.assertEqual(c.counts['sigbus_other'], 1)
        self.assertEqual(sum(c.unexpected_errors.values()), 1)

    def test_sigbus_past_the_end_of_a_shrunk_dataset_is_expected(self):
        # 300 records (three pages), then truncated to 4 (one page)
        history = [state(APP, 5, 6, [(0, 300, 2)], 300 * 32),
                   state(APP, 10, 11, [(0, 4, 2)], 4 * 32)]
        c = self.judge(history + [self.sigbus(APP, 10.5, 10.6, 0, 300 * 32)])
        self.assertEqual(c.counts['sigbus_expected'], 1)
        self.assertEqual(sum(c.unexpected_errors.values()), 0)
        # a fresh mapping has the size of the state at its open: once only
        # the short one stands, a SIGBUS is no end's doing
        c = self.judge(history + [self.sigbus(APP, 12, 12.1, 0, None,
                                              op='mmapnew')])
        self.assertEqual(c.counts['sigbus_other'], 1)
        c = self.judge(history + [self.sigbus(APP, 10.5, 10.6, 0, None,
                                              op='mmapnew')])
        self.assertEqual(c.counts['sigbus_expected'], 1)

    def test_sigbus_during_a_cp_on_that_mount_is_not_excused(self):
        # (the mount no longer lets the kernel empty a file opened with
        # O_TRUNC: README, Writing)
        for m in (0, 1):
            cp = dict(e='op', src='writer0', op='cp', path=FIX, m=m, t0=21.9,
                      t1=22.5, rc=0)
            c = self.judge(self.HISTORY + [cp, self.sigbus(FIX, 22, 22.1, 0,
                                                           8192)])
            self.assertEqual(c.counts['sigbus_other'], 1)

    # The writes that made HISTORY's versions, through mount 1.
    WRITES = [dict(e='op', src='writer0', op='cp', path=FIX, m=1, t0=t0,
                   t1=t0 + 1, rc=0) for t0 in (10, 20)]

    def write(self, path, m, t0):
        return dict(e='op', src='writer1', op='cp', path=path, m=m, t0=t0,
                    t1=t0 + 0.2, rc=0)

    def test_a_fresh_mapping_refused_only_beside_an_older_reader(self):
        refused = dict(e='read', src='mapper0', op='mmapnew', path=FIX, m=0,
                       t0=22, t1=22.1, off=0, req=None, rc=1, err='ENODEV',
                       cache=1, kept=False)
        history = self.HISTORY + self.WRITES
        c = self.judge(history + [refused])
        self.assertEqual(sum(c.unexpected_errors.values()), 1)
        c = self.judge(history + [dict(refused, kept=True)])
        self.assertEqual(c.counts['mapping_refused'], 1)
        # a reader opened before the write of [20, 21]
        reader = dict(e='read', src='reader0', op='cat', path=FIX, m=0,
                      t0=19.5, t1=22.5, rc=1, err='EIO')
        c = self.judge(history + [reader, refused])
        self.assertEqual(c.counts['mapping_refused'], 1)
        # a kept mapping's open and mmap, likewise; not a read through it
        kept = dict(refused, op='mmap', mapping=1)
        c = self.judge(history + [reader, kept])
        self.assertEqual(c.counts['mapping_refused'], 1)
        c = self.judge(history + [reader, dict(kept, mapping=0)])
        self.assertEqual(c.counts['mapping_refused'], 0)
        # a reader that closed just before: its release may not have come yet
        closed = dict(reader, t0=19.0, t1=21.5)
        c = self.judge(history + [closed, refused])
        self.assertEqual(c.counts['mapping_refused'], 1)
        c = self.judge(history + [dict(closed, t0=19.0, t1=20.5), refused])
        self.assertEqual(c.counts['mapping_refused'], 0)
        # a reader opened after the last write has the mapping's version...
        later = dict(reader, t0=21.5)
        c = self.judge(history + [later, refused])
        self.assertEqual(c.counts['mapping_refused'], 0)
        # ... unless a write came since that the mount cannot vouch for
        for write, excused in ((self.write(FIX, 0, 21.6), 1),
                               (self.write(APP, 1, 21.6), 1),
                               (self.write(APP, 0, 21.6), 0)):
            c = self.judge(history + [later, write, refused])
            self.assertEqual(c.counts['mapping_refused'], excused, write)

    def test_sigbus_beside_an_older_reader_only_after_a_change(self):
        history = self.HISTORY + self.WRITES
        fault = self.sigbus(FIX, 21.8, 22.1, 0, 8192)
        reader = dict(e='read', src='reader0', op='cat', path=FIX, m=0,
                      t0=19.5, t1=22.5, rc=1, err='EIO')
        c = self.judge(history + [reader, fault])
        self.assertEqual(c.counts['sigbus_older_reader'], 1)
        self.assertEqual(c.counts['sigbus_other'], 0)
        # the reader opened after the last write: nothing older beside it
        later = dict(reader, t0=21.5)
        c = self.judge(history + [later, fault])
        self.assertEqual(c.counts['sigbus_other'], 1)
        # a write elsewhere through the same mount changes nothing of it
        c = self.judge(history + [later, self.write(APP, 0, 21.6), fault])
        self.assertEqual(c.counts['sigbus_other'], 1)
        c = self.judge(history + [later, self.write(APP, 1, 21.6), fault])
        self.assertEqual(c.counts['sigbus_older_reader'], 1)
        # redis lost its state in between: generations may have gone back
        lost = dict(kind='redis-lose', t=21.6, t_end=21.7)
        c = self.judge(history + [later, fault], faults=[lost])
        self.assertEqual(c.counts['sigbus_older_reader'], 1)
        # ... also when another fault came first
        stop = dict(kind='stop', mount=1, t=21.55, t_end=21.6, t_back=21.6)
        c = self.judge(history + [later, fault], faults=[stop, lost])
        self.assertEqual(c.counts['sigbus_older_reader'], 1)

    def test_a_fresh_mapping_of_a_size_from_before_is_stale(self):
        n0 = CONFIG['n_app0']
        grown = records.state_bytes(records.key_of(APP), [(0, n0, 0),
                                                          (n0, n0 + 8, 5)],
                                    (n0 + 8) * 32)
        history = [state(APP, 10, 11, [(0, n0, 0), (n0, n0 + 8, 5)],
                         (n0 + 8) * 32)]
        ok = mapped(grown, 12, 12.2, op='mmapnew', path=APP, ts=12.1)
        c = self.judge(history + [ok])
        self.assertEqual(c.counts['stale_reads'] + c.counts['torn_reads'], 0)
        old = records.state_bytes(records.key_of(APP), [(0, n0, 0)], n0 * 32)
        c = self.judge(history + [mapped(old, 12, 12.2, op='mmapnew',
                                         path=APP, ts=12.1)])
        self.assertEqual(c.counts['stale_reads'], 1)

    # -- uniform content ----------------------------------------------------------

    def test_uniform_bytes_are_judged_one_by_one(self):
        f1, f2 = records.fill_of(1), records.fill_of(2)
        history = [state(BIG, 10, 11, [], 1 << 16, fill=f1),
                   state(BIG, 20, 21, [], 1 << 16, fill=f2)]
        mix = bytes([f1]) * 100 + bytes([f2]) * 100
        c = self.judge(history + [mapped(mix, 20.5, 20.6, path=BIG)])
        self.assertEqual(c.counts['stale_reads'] + c.counts['torn_reads'], 0)
        c = self.judge(history + [mapped(mix, 22, 22.1, path=BIG)])
        self.assertEqual(c.counts['stale_reads'], 1)
        c = self.judge(history + [mapped(bytes([f1, 0]), 22, 22.1,
                                         path=BIG)])
        self.assertEqual(c.counts['torn_reads'], 1)

    # -- after SIGCONT --------------------------------------------------------------

    STOP = dict(kind='stop', mount=0, t=18.0, t_end=21.5, t_back=21.5)

    def test_a_woken_mount_may_answer_from_old_caches_until_settled(self):
        stale = mapped(fix_bytes(self.V1), 21.8, 21.9)
        c = self.judge(self.HISTORY + [stale], faults=[dict(self.STOP)])
        self.assertEqual(c.counts['stale_reads'], 0)
        self.assertEqual(c.counts['stale_within_settle'], 1)
        late = mapped(fix_bytes(self.V1), 22.3, 22.4)
        c = self.judge(self.HISTORY + [late], faults=[dict(self.STOP)])
        self.assertEqual(c.counts['stale_reads'], 1)
        other_mount = mapped(fix_bytes(self.V1), 21.8, 21.9, m=1)
        c = self.judge(self.HISTORY + [other_mount], faults=[dict(self.STOP)])
        self.assertEqual(c.counts['stale_reads'], 1)

    # -- stat, listdir, getxattr ---------------------------------------------------

    def meta(self, op, path, t0, t1, **got):
        return dict(e=op, src='statter0', path=path, m=0, t0=t0, t1=t1, rc=0,
                    cache=1, **got)

    def test_stat_sizes(self):
        n0 = CONFIG['n_app0']
        history = [state(APP, 10, 11, [(0, 8, 4)], 8 * 32)]
        c = self.judge(history + [self.meta('stat', APP, 12, 12.1,
                                            size=8 * 32, dir=False)])
        self.assertEqual(c.counts['stale_metadata'], 0)
        c = self.judge(history + [self.meta('stat', APP, 12, 12.1,
                                            size=n0 * 32, dir=False)])
        self.assertEqual(c.counts['stale_metadata'], 1)
        c = self.judge(history + [self.meta('stat', APP, 10.5, 10.6,
                                            size=n0 * 32, dir=False)])
        self.assertEqual(c.counts['stale_metadata'], 0)
        c = self.judge(history + [self.meta('stat', APP, 12, 12.1, size=0,
                                            dir=False)])
        self.assertEqual(c.counts['stale_metadata'], 1)

    def test_a_name_made_before_the_stat_began_is_there(self):
        g = layout.slot_group(0, 0)
        history = [dict(e='ns', src='writer0', path=g, kind='group',
                        exists=True, t0=10, t1=11)]
        enoent = dict(self.meta('stat', g, 12, 12.1), rc=1, err='ENOENT')
        c = self.judge(history + [enoent])
        self.assertEqual(c.counts['false_enoent'], 1)
        c = self.judge(history + [dict(enoent, t0=10.5)])
        self.assertEqual(c.counts['false_enoent'], 0)
        self.assertEqual(c.counts['reads_enoent_expected'], 1)

    def test_a_killed_mount_is_detached_also_after_a_stop(self):
        # a cat of a dataset that always exists, on mount 0 just after its
        # daemon was killed (its mount detached: the empty mount point),
        # while the grace of a stop of the same mount before still ran
        cat = dict(e='read', src='reader0', op='cat', path=FIX, m=0, t0=22.2,
                   t1=22.25, off=0, req=None, rc=1, err='ENOENT')
        kill = dict(kind='kill-waiting', mount=0, t=22.1, t_end=23.0,
                    t_back=23.0)
        c = self.judge(self.HISTORY + [cat], faults=[dict(self.STOP)])
        self.assertEqual(c.counts['false_enoent'], 1)
        c = self.judge(self.HISTORY + [cat],
                       faults=[dict(self.STOP), dict(kill)])
        self.assertEqual(c.counts['false_enoent'], 0)
        c = self.judge(self.HISTORY + [cat],
                       faults=[dict(self.STOP), dict(kill, mount=1)])
        self.assertEqual(c.counts['false_enoent'], 1)
        # and `ls -R` of that mount point then lists an empty directory
        ls = dict(e='ls', src='reader0', m=0, t0=22.2, t1=22.25, rc=0,
                  entries=[])
        detached = 'empty ls of the detached mount'
        c = self.judge(self.HISTORY + [ls],
                       faults=[dict(self.STOP), dict(kill)])
        self.assertEqual(c.expected_errors[detached], 1)
        c = self.judge(self.HISTORY + [ls], faults=[dict(self.STOP)])
        self.assertEqual(c.expected_errors[detached], 0)

    def test_listdir_names(self):
        g = layout.slot_group(0, 0)
        history = [dict(e='ns', src='writer0', path=g, kind='group',
                        exists=True, t0=10, t1=11)]
        c = self.judge(history + [self.meta('list', '/w0/t', 12, 12.1,
                                            names=['g0'])])
        self.assertEqual(c.counts['stale_metadata'], 0)
        c = self.judge(history + [self.meta('list', '/w0/t', 12, 12.1,
                                            names=[])])
        self.assertEqual(c.counts['stale_metadata'], 1)
        c = self.judge(history + [self.meta('list', '/w0/t', 12, 12.1,
                                            names=['g0', 'zz'])])
        self.assertEqual(c.counts['stale_metadata'], 1)
        c = self.judge(history + [self.meta('list', '/w0', 12, 12.1,
                                            names=['app', 'fix', 't'])])
        self.assertEqual(c.counts['stale_metadata'], 0)

    def test_getxattr_stamps(self):
        g = layout.group_path(0)
        new = layout.stamp(records.key_of(g), 7)
        history = [dict(e='attr', src='writer0', path=g, name=layout.STAMP,
                        value=new, t0=10, t1=11)]
        old = layout.stamp(records.key_of(g), 0)
        c = self.judge(history + [self.meta('getxattr', g, 12, 12.1,
                                            value=new)])
        self.assertEqual(c.counts['stale_metadata'], 0)
        c = self.judge(history + [self.meta('getxattr', g, 12, 12.1,
                                            value=old)])
        self.assertEqual(c.counts['stale_metadata'], 1)
        c = self.judge(history + [self.meta('getxattr', g, 10.5, 10.6,
                                            value=old)])
        self.assertEqual(c.counts['stale_metadata'], 0)


class FailedWrites(unittest.TestCase):
    """How a writer reads back a write that failed (worker.write_content),
    with the tools it runs and the read-back made up: what it may find
    there, and the checker's verdict on that."""

    def setUp(self):
        self.dir = tempfile.mkdtemp(prefix='h5stress-test-')
        self.addCleanup(shutil.rmtree, self.dir)

    def writer(self, read_backs):
        """A writer of the uniform BIG dataset (v1 committed: fill 2)
        whose every cp fails, and whose read-backs answer read_backs in
        turn (None: nothing could be read)."""
        logdir = tempfile.mkdtemp(dir=self.dir)
        config = dict(seed='t', mounts=['/m0', '/m1'], logdir=logdir,
                      tmpdir=logdir, op_timeout=5)
        w = worker.Worker(config, 'writer', 0)
        w.version = 1
        w.ds = {BIG: dict(key=records.key_of(BIG), runs=[], len=1 << 12,
                          fill=records.fill_of(1))}
        w.run = lambda args: (1, b'', 'cp: failed to close: '
                              'No space left on device', 1.0, 2.0)

        def read_back(path, avoid=None):
            fill = read_backs.pop(0)
            if fill is None:
                return None, None, None
            return bytes([fill]) * (1 << 12), 3.0, 4.0
        w.read_back = read_back
        return w

    def outcomes(self, read_backs):
        w = self.writer(list(read_backs))
        for _ in read_backs:
            w.write_content(0, BIG, 'cp', 0, 0)
        w.log.close()
        with open(os.path.join(w.c['logdir'], 'writer0.jsonl')) as f:
            entries = [json.loads(line) for line in f]
        checker = check.Checker(CONFIG, [], lease=2.0)
        checker.entries = entries
        for e in entries:
            if e['e'] in ('state', 'ns', 'attr', 'unknown', 'failed'):
                checker.model.feed(e)
        checker.check()
        self.checker = checker
        return ([(e['v'], e['outcome']) for e in entries if e['e'] == 'failed'],
                checker.problems['failed_write_left_other_content'], w)

    def test_an_unresolved_failure_leaves_the_state_before_or_the_new(self):
        # v2 (fill 3) fails and cannot be read back; v3 (fill 4) fails and
        # the old content v1 (fill 2) is read back: not visible, known again
        out, other, w = self.outcomes([None, records.fill_of(1)])
        self.assertEqual(out, [(2, 'unresolved'), (3, 'not-visible')])
        self.assertEqual(other, [])
        self.assertNotIn(BIG, w.unknown)
        self.assertEqual(w.ds[BIG]['fill'], records.fill_of(1))
        self.assertEqual(self.checker.problems['failed_write_visible'], [])
        # ... or v2's content: v2 landed though its close failed, which is
        # judged (a failure), and the path is known again
        out, other, w = self.outcomes([None, records.fill_of(2)])
        self.assertEqual(out, [(2, 'unresolved'), (3, 'not-visible'), (2, 'visible')])
        self.assertEqual(other, [])
        self.assertEqual(w.ds[BIG]['fill'], records.fill_of(2))
        self.assertEqual(len(self.checker.problems['failed_write_visible']), 1)

    def test_content_no_write_made_is_other(self):
        out, other, w = self.outcomes([None, 99])
        self.assertEqual(out, [(2, 'unresolved'), (3, 'other')])
        self.assertEqual(len(other), 1)
        self.assertIn(BIG, w.unknown)
        out, other, _ = self.outcomes([99])
        self.assertEqual(out, [(2, 'other')])
        self.assertEqual(len(other), 1)


if __name__ == '__main__':
    unittest.main()
