"""The workers whose reads the kernel may answer from its caches alone: the
mmap reader (pages of a shared mapping) and the stat/list reader (names and
attributes). A mixin of worker.Worker: they log like the other readers, one
JSON line per operation with t0/t1, and check.py judges them the same way
(docs/STRESS.md).

Their entries carry cache=1: one of them that succeeds says nothing about
whether its mount's daemon makes progress (the kernel may have answered it
alone), so the stall figures leave them out.
"""

import errno
import os
import stat
import time

from . import layout, mapping, records


class CacheReaders:

    # -- the mmap reader -----------------------------------------------------
    #
    # Keeps a mapping of each fixed-size dataset on each mount for as long
    # as that mount's daemon runs (many commits of every writer), and reads
    # through it; or maps a dataset (fixed or resizable) afresh, reads all of
    # it and unmaps it. A mount that is down is not read (its mapping stays
    # across a SIGSTOP; a killed daemon's mapping is dropped once a new
    # daemon runs there).

    def mapped_paths(self):
        kept = [layout.fix_path(w) for w in range(self.c['writers'])]
        kept += [layout.h5py_data(i) for i in range(self.c['h5py'])]
        if self.c.get('big_bytes'):
            kept.append(layout.BIG)
        fresh = kept + [layout.app_path(w) for w in range(self.c['writers'])]
        return kept, fresh

    def loop_mapper(self):
        client = mapping.Client(os.path.join(
            self.c['logdir'], 'mapper%d.child.err' % self.index),
            self.op_timeout)
        kept_paths, fresh_paths = self.mapped_paths()
        self.maps = {}   # (mount, path) -> (daemon start, size)
        try:
            while not self.stopping():
                m = self.pick_mount()
                if m is None:
                    time.sleep(0.05)
                    continue
                self.forget_restarted(client)
                if self.rng.random() < 0.7:
                    self.kept_read(client, m, self.rng.choice(kept_paths))
                else:
                    self.fresh_read(client, m, self.rng.choice(fresh_paths))
                # a Python loop of reads from the page cache would take a core
                time.sleep(self.rng.uniform(0, 0.04))
                self.pace()
        finally:
            client.close()

    @staticmethod
    def kind_of(path):
        return 'uniform' if path == layout.BIG else 'records'

    def forget_restarted(self, client):
        """Mappings made through a daemon that is no longer the one running
        there (killed, then started again) are unmapped."""
        for (m, path), (started, _) in list(self.maps.items()):
            if self.started.get(m) != started:
                del self.maps[(m, path)]
                client.ask({'op': 'unmap', 'key': '%d%s' % (m, path)})

    def mapped_failure(self, op, path, m, t0, err, msg='', off=0, req=None,
                       kept=False, mapping=0):
        """A failed map or read; [off, off + req) is the range it read (a
        SIGBUS is judged by it); kept: this reader had the dataset mapped on
        that mount already; mapping=1: the open and mmap failed, not a read
        (a fresh mapping's failure may be either)."""
        self.emit(e='read', op=op, path=path, m=m, t0=t0,
                  t1=time.monotonic(), off=off, req=req, rc=1, err=err,
                  msg=msg, cache=1, kept=kept, mapping=mapping)
        if err.startswith('SIG') or err == 'TIMEOUT':
            self.maps.clear()   # the child is gone, and every mapping with it

    def kept_read(self, client, m, path):
        key = '%d%s' % (m, path)
        if (m, path) not in self.maps:
            t0 = time.monotonic()
            reply, died = client.ask({'op': 'map', 'key': key,
                                      'path': self.path(m, path)})
            if reply is None or not reply['ok']:
                self.mapped_failure('mmap', path, m, t0, died or reply['err'],
                                    '' if died else reply['msg'], mapping=1)
                return
            self.maps[(m, path)] = (self.started.get(m), reply['size'])
        size = self.maps[(m, path)][1]
        off, n = 0, size
        if self.rng.random() < 0.6 or path == layout.BIG:
            # a part; records whole (a record is judged as a unit)
            unit = 1 if path == layout.BIG else records.RECORD
            most = min(size, 512 << 10) // unit
            if most > 0:
                n = self.rng.randint(1, most) * unit
                off = self.rng.randrange(0, size // unit - n // unit + 1) * unit
        t0 = time.monotonic()
        reply, died = client.ask({'op': 'read', 'key': key, 'off': off,
                                  'n': n, 'kind': self.kind_of(path)})
        if reply is None or not reply['ok']:
            self.mapped_failure('mmap', path, m, t0, died or reply['err'],
                                '' if died else reply['msg'], off, n)
            return
        self.emit(**self.mapped_entry('mmap', path, m, off, n, reply))

    def fresh_read(self, client, m, path):
        t0 = time.monotonic()
        kept = (m, path) in self.maps   # an older open of it, for the judge
        reply, died = client.ask({'op': 'fresh', 'path': self.path(m, path),
                                  'kind': self.kind_of(path)})
        if reply is None or not reply['ok']:
            self.mapped_failure('mmapnew', path, m, t0, died or reply['err'],
                                '' if died else reply['msg'], kept=kept)
            return
        self.emit(**self.mapped_entry('mmapnew', path, m, 0, None, reply))

    @staticmethod
    def mapped_entry(op, path, m, off, req, reply):
        entry = dict(e='read', op=op, path=path, m=m, t0=reply['t0'],
                     t1=reply['t1'], off=off, req=req, rc=0, n=reply['n'],
                     size=reply['size'], cache=1)
        for k in ('ts', 'sha', 'recs', 'values', 'dec'):
            if k in reply:
                entry[k] = reply[k]
        return entry

    # -- the stat/list reader --------------------------------------------------
    #
    # One system call each, from this process: os.stat of a dataset or group
    # (names and attributes the kernel keeps), os.listdir of a group,
    # os.getxattr of user.stamp.

    def loop_statter(self):
        w_range, s_range = range(self.c['writers']), range(self.c['slots'])
        datasets = [layout.fix_path(w) for w in w_range]
        datasets += [layout.app_path(w) for w in w_range]
        datasets += [layout.slot_dataset(w, s) for w in w_range
                     for s in s_range]
        datasets += [layout.h5py_data(i) for i in range(self.c['h5py'])]
        slot_groups = [layout.slot_group(w, s) for w in w_range
                       for s in s_range]
        groups = ['/'] + [layout.group_path(w) for w in w_range]
        groups += ['/w%d/t' % w for w in w_range] + slot_groups
        stamped = [layout.group_path(w) for w in w_range]
        stamped += [layout.fix_path(w) for w in w_range] + slot_groups
        stamped += [layout.h5py_group(i) for i in range(self.c['h5py'])]
        if self.c.get('big_bytes'):
            datasets += [layout.BIG, layout.SIDE]
            groups.append(layout.CROSS)
        ops = [('stat', datasets + slot_groups, 50), ('list', groups, 25),
               ('getxattr', stamped, 25)]
        while not self.stopping():
            m = self.pick_mount()
            if m is None:
                time.sleep(0.05)
                continue
            op, paths, _ = self.rng.choices(ops, [w for _, _, w in ops])[0]
            self.meta_call(op, m, self.rng.choice(paths))
            time.sleep(self.rng.uniform(0, 0.02))
            self.pace()

    def meta_call(self, op, m, path):
        full = self.path(m, path) if path != '/' else self.mounts[m]
        entry = dict(e=op, path=path, m=m, cache=1)
        t0 = time.monotonic()
        try:
            if op == 'stat':
                st = os.stat(full)
                got = dict(size=st.st_size,
                           dir=stat.S_ISDIR(st.st_mode))
            elif op == 'list':
                got = dict(names=sorted(os.listdir(full)))
            else:
                try:
                    got = dict(value=os.getxattr(full, layout.STAMP).decode(
                        'utf-8', 'replace'))
                except OSError as e:
                    if e.errno != errno.ENODATA:
                        raise
                    got = dict(value='')   # no stamp: '' in the model
            entry.update(got, rc=0)
        except OSError as e:
            entry.update(rc=1, err=errno.errorcode.get(e.errno, str(e.errno)),
                         msg=str(e)[-200:])
        entry.update(t0=t0, t1=time.monotonic())
        self.emit(**entry)
