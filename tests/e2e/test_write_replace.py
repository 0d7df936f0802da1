#!/usr/bin/python3
"""Replacing a dataset's content (SPEC.md section 5): `cp src ds` over a
fixed-size dataset replaces it when the length is its size, else close()
fails with EINVAL and nothing changes (a longer content fails already at
the write past the end, with EFBIG); over a dataset resizable along
axis 0 the extent follows the written length in whole rows. The bytes
are staged until close() (or fsync) and then committed in one step."""

import errno
import os
import signal
import subprocess

import numpy as np

import write_harness as wh

RNG = np.random.default_rng(5)

COMPOUND = np.dtype({'names': ['a', 'b'], 'formats': ['<i2', '<f8'],
                     'offsets': [0, 8], 'itemsize': 16})


def build(f):
    g = f.create_group('g')
    g.create_dataset('fixed', data=np.arange(12, dtype='<i4').reshape(4, 3))
    g.create_dataset('fixed_be', data=np.arange(6, dtype='>f8'))
    g.create_dataset('deflated', data=np.arange(1000, dtype='<i8'),
                     chunks=(100,), compression='gzip', shuffle=True)
    g.create_dataset('compound', data=np.array(
        [(1, 1.5), (2, 2.5), (3, 3.5)], dtype=COMPOUND))
    g.create_dataset('rows', data=np.arange(6, dtype='<i4').reshape(2, 3),
                     maxshape=(None, 3), chunks=(4, 3))
    g.create_dataset('rows3d', data=np.zeros((1, 2, 2), '<u2'),
                     maxshape=(None, 2, 2), chunks=(1, 2, 2))
    f.create_dataset('keep', data=np.arange(5, dtype='<u1'))
    for name in ('fixed', 'deflated', 'rows'):
        g[name].attrs['units'] = 'm'
        g[name].attrs['scale'] = 2.5


def properties(ds):
    """What replacing the content must keep of a dataset."""
    return {'dtype': ds.dtype.str if ds.dtype.names is None
            else ds.dtype.descr, 'maxshape': ds.maxshape,
            'chunks': ds.chunks, 'compression': ds.compression,
            'shuffle': ds.shuffle, 'layout':
            ds.id.get_create_plist().get_layout(),
            'attrs': {k: repr(v) for k, v in ds.attrs.items()}}


class Replace(wh.WriteTestCase):

    def setUp(self):
        super().setUp()
        self.make_file(build)

    def check_dataset(self, path, want, maxshape=None):
        """h5py sees want (values, shape); cat through the mount gives its
        native bytes, stat its size."""
        with self.h5() as f:
            ds = f[path]
            got = ds[()]
            self.assertEqual(ds.shape, want.shape, path)
            self.assertEqual(got.dtype.itemsize, want.dtype.itemsize, path)
            self.assertEqual(got.tolist(), want.tolist(), path)
            if maxshape is not None:
                self.assertEqual(ds.maxshape, maxshape, path)
        mounted = self.p(path.lstrip('/'))
        if self.mounts and self.mounts[0].proc is not None:
            got = self.cat(mounted)
            self.assertEqual(len(got), want.nbytes, path)
            self.assertEqual(np.frombuffer(got, wh.native(want.dtype))
                             .reshape(want.shape).tolist(), want.tolist(),
                             path)
            self.assertEqual(os.stat(mounted).st_size, want.nbytes)
            self.assertEqual(self.xattr(mounted, 'user.h5.shape'),
                             ','.join(map(str, want.shape)))

    # -- fixed size ---------------------------------------------------------

    def test_cp_same_size_replaces(self):
        self.mount()
        with self.h5() as f:
            kept = {p: properties(f[p]) for p in ('/g/fixed', '/g/fixed_be',
                                                  '/g/deflated',
                                                  '/g/compound')}
        cases = {
            '/g/fixed': RNG.integers(-2**31, 2**31, (4, 3)).astype('<i4'),
            '/g/fixed_be': np.array([0.5, -1, 2e300, 3, 4, 5], '<f8'),
            '/g/deflated': RNG.integers(0, 2**62, 1000).astype('<i8'),
            '/g/compound': np.array([(-7, 0.25), (8, 1e-3), (9, -4.0)],
                                    COMPOUND),
        }
        for path, want in cases.items():
            with self.subTest(path):
                src = self.src(path.replace('/', '_'), want.tobytes())
                self.assert_ok(self.run_tool('cp', src, self.p(path[1:])))
                self.check_dataset(path, want)
        with self.h5() as f:
            for path, props in kept.items():
                self.assertEqual(properties(f[path]), props,
                                 '%s: type, layout, filters and attributes '
                                 'stay' % path)
            self.assertEqual(f['/keep'][()].tolist(), [0, 1, 2, 3, 4])
        self.unmount_all()
        for path, want in cases.items():
            self.check_dataset(path, want)

    def test_cp_wrong_length_fails_unchanged(self):
        self.mount(errors=True)
        before = self.snapshot()
        size = 48
        for length in (0, 1, size - 4, size - 1, size + 1, size + 12,
                       10 * size):
            with self.subTest(length=length):
                src = self.src('len%d' % length, RNG.bytes(length))
                result = self.run_tool('cp', src, self.p('g', 'fixed'))
                self.assert_fails(result, errno.EINVAL)
                if length > size:
                    self.assert_fails(result, errno.EFBIG)
                    self.assertIn('error writing', result.stderr)
                self.assert_unchanged(before)
                self.assertEqual(os.stat(self.p('g', 'fixed')).st_size, size)
                self.assertEqual(self.cat(self.p('g', 'fixed')),
                                 np.arange(12, dtype='<i4').tobytes())

    def test_python_close_reports_einval(self):
        self.mount(errors=True)
        before = self.snapshot()
        self.assertEqual(self.write_fd(self.p('g', 'fixed'), b'x' * 47),
                         errno.EINVAL)
        # one byte too many: the write that reaches past the end fails
        fd = os.open(self.p('g', 'fixed'), os.O_WRONLY | os.O_TRUNC)
        try:
            self.assertEqual(os.write(fd, b'x' * 42), 42)
            self.assert_errno(lambda: os.write(fd, b'x' * 7), errno.EFBIG)
        finally:
            self.assert_errno(lambda: os.close(fd), errno.EINVAL)
        self.assert_unchanged(before)
        # and the right length in several writes works
        want = np.arange(100, 112, dtype='<i4').reshape(4, 3)
        self.assertEqual(self.write_fd(self.p('g', 'fixed'), want.tobytes(),
                                       pieces=5), 0)
        self.check_dataset('/g/fixed', want)

    # -- resizable along axis 0 -------------------------------------------

    def test_cp_resizable_follows_length(self):
        self.mount()
        with self.h5() as f:
            kept = properties(f['/g/rows'])
        for rows in (5, 1, 7, 0, 3):
            with self.subTest(rows=rows):
                want = RNG.integers(-1000, 1000, (rows, 3)).astype('<i4')
                src = self.src('rows%d' % rows, want.tobytes())
                self.assert_ok(self.run_tool('cp', src, self.p('g', 'rows')))
                self.check_dataset('/g/rows', want, maxshape=(None, 3))
        want = np.arange(3 * 4, dtype='<u2').reshape(3, 2, 2)
        src = self.src('rows3d', want.tobytes())
        self.assert_ok(self.run_tool('cp', src, self.p('g', 'rows3d')))
        self.check_dataset('/g/rows3d', want, maxshape=(None, 2, 2))
        with self.h5() as f:
            self.assertEqual(properties(f['/g/rows']), kept)

    def test_cp_resizable_partial_row_fails(self):
        self.mount(errors=True)
        before = self.snapshot()
        for length in (4, 8, 12 * 5 + 4, 12 * 5 + 11, 13):
            with self.subTest(length=length):
                src = self.src('part%d' % length, RNG.bytes(length))
                self.assert_fails(self.run_tool('cp', src,
                                                self.p('g', 'rows')),
                                  errno.EINVAL)
                self.assert_unchanged(before)
        # 3-D: a row is 2 x 2 elements (8 bytes); 4 bytes is not one
        src = self.src('half3d', RNG.bytes(12))
        self.assert_fails(self.run_tool('cp', src, self.p('g', 'rows3d')),
                          errno.EINVAL)
        self.assert_unchanged(before)
        self.assertEqual(self.cat(self.p('g', 'rows')),
                         np.arange(6, dtype='<i4').tobytes())

    # -- staging ------------------------------------------------------------

    def test_staged_until_close(self):
        # Until close() other readers see the old content; after close()
        # returns every new read sees the new one. The reads here are
        # made in this process, so no child closes a copy of the
        # descriptor (see test_staged_across_fork for that).
        self.mount()
        path = self.p('g', 'fixed')
        old = np.arange(12, dtype='<i4').tobytes()
        new = np.arange(12, 24, dtype='<i4').tobytes()
        fd = os.open(path, os.O_WRONLY | os.O_TRUNC)
        try:
            self.assertEqual(os.write(fd, new[:20]), 20)
            self.assertEqual(self.read_in_process(path), old)
            self.assertEqual(os.write(fd, new[20:]), len(new) - 20)
            self.assertEqual(self.read_in_process(path), old)
        finally:
            os.close(fd)
        self.assertEqual(self.read_in_process(path), new)
        self.assertEqual(self.cat(path), new)
        with self.h5() as f:
            self.assertEqual(f['g/fixed'][()].tobytes(), new)

    def test_a_shell_redirect_is_committed_by_the_command(self):
        # `{ ...; } > ds` (and the child of `cmd > ds`): the shell opens with
        # O_TRUNC, moves the descriptor onto its standard output and closes
        # the first one, then runs the commands. That close is not the last:
        # readers keep the old rows while the commands run, and bytes the
        # commit refuses leave the old rows, not an empty dataset.
        self.mount(errors=True)
        target = self.p('g', 'rows')
        old = np.arange(6, dtype='<i4').tobytes()
        new = RNG.bytes(24)
        fifo = os.path.join(self.tmp, 'go')
        os.mkfifo(fifo)
        shell = subprocess.Popen(
            ['/bin/sh', '-c', '{ echo ready >&2; read x < "$3"; cat "$2"; } > "$1"',
             'sh', target, self.src('new', new), fifo],
            stderr=subprocess.PIPE, text=True)
        try:
            self.assertEqual(shell.stderr.readline(), 'ready\n')
            self.assertEqual(self.read_in_process(target), old,
                             'the redirect alone emptied the dataset')
            self.assertEqual(os.stat(target).st_size, len(old))
        finally:
            with open(fifo, 'w') as go:
                go.write('\n')
            rest = shell.communicate(timeout=60)[1]
        self.assertEqual((shell.returncode, rest), (0, ''))
        self.assertEqual(self.read_in_process(target), new)
        before = self.snapshot()
        for script in ('head -c 6 /dev/zero > "$1"',     # half a row
                       '{ head -c 6 /dev/zero; } > "$1"'):
            with self.subTest(script=script):
                self.assert_fails(self.sh(script, target), errno.EINVAL)
                self.assert_unchanged(before)
        self.assertEqual(self.cat(target), new)

    def test_a_close_that_wrote_nothing_commits_beside_another_open_file(self):
        # The process still has the dataset open for writing, but through
        # another open file: this close is that open file's last, and its
        # truncation is committed now (a read after it sees it).
        self.mount(errors=True)
        target = self.p('g', 'rows')
        other = os.open(target, os.O_RDWR)
        try:
            emptying = os.open(target, os.O_WRONLY | os.O_TRUNC)
            os.close(emptying)
            self.assertEqual(self.read_in_process(target), b'')
        finally:
            os.close(other)
        # A refused write counts as one: its close reports the failure even
        # though the process keeps another descriptor of the open file.
        fixed = self.p('g', 'fixed')
        before = self.snapshot()
        fd = os.open(fixed, os.O_WRONLY | os.O_TRUNC)
        kept = os.dup(fd)
        try:
            self.assert_errno(lambda: os.write(fd, bytes(52)), errno.EFBIG)
            self.assert_errno(lambda: os.close(fd), errno.EINVAL)
        finally:
            try:
                os.close(kept)
            except OSError:
                pass
        self.assert_unchanged(before)

    def test_a_writer_killed_by_a_signal_commits_nothing(self):
        # The kernel closes a dying process's descriptors: an interrupted cp
        # (Ctrl-C, SIGTERM, SIGKILL) must not replace the dataset with the
        # part it had written. A process that exits without closing commits.
        mount = self.mount(errors=True)
        target = self.p('g', 'rows')
        before = self.snapshot()
        for sig in (signal.SIGTERM, signal.SIGKILL, signal.SIGINT):
            with self.subTest(signal=sig.name):
                script = ('import os, signal, sys\n'
                          'signal.signal(signal.SIGINT, signal.SIG_DFL)\n'
                          'f = open(sys.argv[1], "wb")\n'
                          'f.write(bytes(12)); f.flush()\n'
                          'os.kill(os.getpid(), int(sys.argv[2]))\n')
                died = subprocess.run([wh.harness.PYTHON, '-c', script, target,
                                       str(int(sig))], timeout=60)
                self.assertEqual(died.returncode, -sig)
                self.assert_unchanged(before)
        self.assertIn('was killed (signal %d)' % signal.SIGINT, mount.log_text())
        script = ('import os, sys\n'
                  'f = open(sys.argv[1], "wb")\n'
                  'f.write(bytes(24)); f.flush()\n'
                  'os._exit(0)\n')
        self.assertEqual(subprocess.run([wh.harness.PYTHON, '-c', script,
                                         target], timeout=60).returncode, 0)
        self.assertEqual(self.read_in_process(target), bytes(24))

    def test_staged_across_fork(self):
        # The writer starts other programs while its file is open (here
        # cat and h5swmrfs-ctl): each child closes its copy of the
        # descriptor, which must not commit half of the write; the
        # writer's own close() commits the whole.
        self.mount()
        path = self.p('g', 'fixed')
        old = np.arange(12, dtype='<i4').tobytes()
        new = np.arange(12, 24, dtype='<i4').tobytes()
        fd = os.open(path, os.O_WRONLY | os.O_TRUNC)
        try:
            self.assertEqual(os.write(fd, new[:20]), 20)
            self.assertEqual(self.cat(path), old)
            self.assertEqual(os.write(fd, new[20:]), len(new) - 20)
            self.assertEqual(self.cat(path), old)
            with self.h5() as f:
                self.assertEqual(f['g/fixed'][()].tobytes(), old)
            os.close(fd)
        except BaseException:
            os.close(fd)
            raise
        self.assertEqual(self.cat(path), new)
        with self.h5() as f:
            self.assertEqual(f['g/fixed'][()].tobytes(), new)

    def test_one_open_file_several_processes(self):
        # `{ cmd1; cmd2; } > ds`: both commands write through the one open
        # file the shell made. Each command's close commits what has been
        # written so far and reports the outcome to that command (the
        # shell, which holds the descriptor too but wrote nothing, would
        # ignore it): a reader between the two commands sees the first
        # one's rows. A command whose close comes while the staged bytes
        # could not be committed as they stand (20 of 48) is told so with
        # EINVAL and the bytes stay staged: the whole content lands with
        # the next command's close.
        self.mount()
        old_rows = np.arange(6, dtype='<i4').tobytes()
        rows = np.arange(15, dtype='<i4').reshape(5, 3) + 500
        src = self.src('rows', rows.tobytes())
        probe = os.path.join(self.tmp, 'probe')
        # head writes two whole rows, committed at its close
        result = self.sh('{ head -c 24 "$1"; cat "$2" > "$3"; '
                         'tail -c 36 "$1"; } > "$2"', src,
                         self.p('g', 'rows'), probe)
        self.assert_ok(result)
        self.assertNotEqual(old_rows, rows[:2].tobytes())
        with open(probe, 'rb') as f:
            self.assertEqual(f.read(), rows[:2].tobytes(),
                             'between the commands: the first one\'s rows')
        self.check_dataset('/g/rows', rows)
        # fixed size: 20 bytes alone would be the wrong length
        new = np.arange(200, 212, dtype='<i4').tobytes()
        src = self.src('new', new)
        result = self.sh('{ head -c 20 "$1"; tail -c 28 "$1"; } > "$2"',
                         src, self.p('g', 'fixed'))
        self.assert_only_early_close_refused(result)
        self.assertEqual(self.cat(self.p('g', 'fixed')), new)
        # a descriptor kept open by exec while commands write through it
        new = np.arange(300, 312, dtype='<i4').tobytes()
        src = self.src('new2', new)
        result = self.sh('exec 3> "$2"; head -c 8 "$1" >&3; '
                         'tail -c 40 "$1" >&3; exec 3>&-', src,
                         self.p('g', 'fixed'))
        self.assert_only_early_close_refused(result)
        self.assertEqual(self.cat(self.p('g', 'fixed')), new)

    def test_fsync_commits(self):
        self.mount()
        path = self.p('g', 'fixed')
        new = np.arange(50, 62, dtype='<i4').tobytes()
        fd = os.open(path, os.O_WRONLY | os.O_TRUNC)
        try:
            self.assertEqual(os.write(fd, new), len(new))
            os.fsync(fd)
            self.assertEqual(self.cat(path), new)
            with self.h5() as f:
                self.assertEqual(f['g/fixed'][()].tobytes(), new)
        finally:
            os.close(fd)
        self.assertEqual(self.cat(path), new)


if __name__ == '__main__':
    wh.main()
