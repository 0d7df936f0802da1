#!/usr/bin/python3
"""Appending, patching and truncating (SPEC.md section 5): `>>` and
O_APPEND grow a dataset resizable along axis 0 by whole rows (a partial
row fails at close with EINVAL, and a failed fsync keeps it staged for
later writes to complete); a write past the largest size a dataset can
take fails at write(2) with EFBIG; `dd conv=notrunc seek=N` updates those
bytes only, also when they cut elements; `truncate -s N` sets the extent
of a resizable dataset (whole rows) and accepts only its own size for a
fixed one."""

import errno
import os
import subprocess

import numpy as np

import harness
import write_harness as wh

RNG = np.random.default_rng(17)

FIXED = np.arange(12, dtype='<i4').reshape(4, 3) * 1000 + 7
BE = (np.arange(8) * -3).astype('>i4')
DEFLATED = np.arange(500, dtype='<f8') / 8
ROWS = np.arange(6, dtype='<i4').reshape(2, 3) + 100


def build(f):
    g = f.create_group('g')
    g.create_dataset('fixed', data=FIXED)
    g.create_dataset('be', data=BE)
    g.create_dataset('deflated', data=DEFLATED, chunks=(64,),
                     compression='gzip')
    g.create_dataset('rows', data=ROWS, maxshape=(None, 3), chunks=(2, 3))
    g.create_dataset('bytes', data=np.frombuffer(b'abc', 'u1'),
                     maxshape=(None,), chunks=(16,))
    g.create_dataset('capped', data=ROWS, maxshape=(4, 3), chunks=(2, 3))
    for name in ('rows8', 'rows8a'):
        g.create_dataset(name, shape=(0, 8), dtype='<i4', maxshape=(None, 8),
                         chunks=(4, 8))
    f.create_dataset('keep', data=np.arange(3, dtype='<u1'))


def patched(array, offset, data):
    """array's native bytes with data written at offset, as array's
    native dtype and shape (the length must stay the same)."""
    raw = bytearray(wh.native_bytes(array))
    raw[offset:offset + len(data)] = data
    assert len(raw) == array.nbytes
    return np.frombuffer(bytes(raw), wh.native(array.dtype)).reshape(
        array.shape)


class PatchAppend(wh.WriteTestCase):

    def setUp(self):
        super().setUp()
        self.make_file(build)

    def check(self, h5path, want):
        with self.h5() as f:
            ds = f[h5path]
            self.assertEqual(ds.shape, want.shape, h5path)
            self.assertEqual(ds[()].tolist(), want.tolist(), h5path)
        if self.mounts and self.mounts[0].proc is not None:
            mounted = self.p(h5path.lstrip('/'))
            self.assertEqual(self.cat(mounted), wh.native_bytes(want))
            self.assertEqual(os.stat(mounted).st_size, want.nbytes)

    # -- append -------------------------------------------------------------

    def test_shell_append_grows_by_rows(self):
        self.mount()
        more = np.arange(9, dtype='<i4').reshape(3, 3) - 50
        src = self.src('more', more.tobytes())
        self.assert_ok(self.sh('cat "$1" >> "$2"', src, self.p('g', 'rows')))
        want = np.concatenate([ROWS, more])
        self.check('/g/rows', want)
        # append again, a single row
        one = np.array([[7, 8, 9]], '<i4')
        self.assert_ok(self.sh('cat "$1" >> "$2"', self.src('one',
                                                            one.tobytes()),
                               self.p('g', 'rows')))
        self.check('/g/rows', np.concatenate([want, one]))
        # a byte dataset grows by bytes
        self.assert_ok(self.sh('printf defg >> "$1"', self.p('g', 'bytes')))
        self.check('/g/bytes', np.frombuffer(b'abcdefg', 'u1'))

    def test_append_group_redirect(self):
        # `{ cmd1; cmd2; } >> ds`: two processes write through one open
        # file; each one's close appends what it wrote, so a reader between
        # the two sees the first one's row appended.
        self.mount()
        more = np.arange(12, dtype='<i4').reshape(4, 3) + 70
        src = self.src('more', more.tobytes())
        probe = os.path.join(self.tmp, 'probe')
        self.assert_ok(self.sh('{ head -c 12 "$1"; cat "$2" > "$3"; '
                               'tail -c 36 "$1"; } >> "$2"', src,
                               self.p('g', 'rows'), probe))
        with open(probe, 'rb') as f:
            self.assertEqual(f.read(), np.concatenate([ROWS, more[:1]]).tobytes(),
                             'between the commands: the first one\'s row')
        self.check('/g/rows', np.concatenate([ROWS, more]))
        # a partial row from the first command alone: its close is told the
        # staged bytes are no whole row yet; the rows land whole at the end
        more2 = np.arange(6, dtype='<i4').reshape(2, 3) - 9
        src = self.src('more2', more2.tobytes())
        self.assert_only_early_close_refused(
            self.sh('{ head -c 5 "$1"; tail -c 19 "$1"; } >> "$2"',
                    src, self.p('g', 'rows')))
        self.check('/g/rows', np.concatenate([ROWS, more, more2]))

    def test_python_append_mode(self):
        self.mount()
        rows = [np.array([[1, 2, 3]], '<i4'), np.array([[4, 5, 6],
                                                        [7, 8, 9]], '<i4')]
        with open(self.p('g', 'rows'), 'ab') as out:
            for r in rows:
                out.write(r.tobytes())
        self.check('/g/rows', np.concatenate([ROWS] + rows))
        # O_APPEND with raw calls, row written in two pieces
        row = np.array([[-1, -2, -3]], '<i4')
        self.assertEqual(self.write_fd(self.p('g', 'rows'), row.tobytes(),
                                       flags=os.O_WRONLY | os.O_APPEND,
                                       pieces=2), 0)
        self.check('/g/rows', np.concatenate([ROWS] + rows + [row]))

    def test_append_partial_row_fails(self):
        self.mount(errors=True)
        before = self.snapshot()
        for length in (4, 8, 13, 12 + 4):
            with self.subTest(length=length):
                src = self.src('part%d' % length, RNG.bytes(length))
                self.assert_fails(self.sh('cat "$1" >> "$2"', src,
                                          self.p('g', 'rows')),
                                  errno.EINVAL)
                self.assert_unchanged(before)
                self.assertEqual(
                    self.write_fd(self.p('g', 'rows'), RNG.bytes(length),
                                  flags=os.O_WRONLY | os.O_APPEND),
                    errno.EINVAL)
                self.assert_unchanged(before)
        self.check('/g/rows', ROWS)

    def test_append_to_fixed_fails(self):
        self.mount(errors=True)
        before = self.snapshot()
        src = self.src('row', np.array([1, 2, 3], '<i4').tobytes())
        self.assert_fails(self.sh('cat "$1" >> "$2"', src,
                                  self.p('g', 'fixed')),
                          errno.EINVAL, errno.EFBIG)
        self.assert_unchanged(before)

    def test_write_past_the_end_of_a_fixed_dataset_fails_at_write(self):
        # A shell ignores errors of its own closes: `echo hi >> fixed` must
        # fail at write(2), or it would exit 0 with nothing written.
        self.mount(errors=True)
        before = self.snapshot()
        fixed = self.p('g', 'fixed')
        result = self.run_tool('/bin/bash', '-c', 'echo hi >> "$1"', 'bash',
                               fixed)
        self.assert_fails(result, errno.EFBIG)
        self.assert_unchanged(before)
        # dd at the end, and dd across it: the block past the end fails
        for operands in (('bs=4', 'seek=12'), ('bs=4', 'seek=11')):
            with self.subTest(dd=operands):
                result = self.dd(self.src('eight', b'12345678'), fixed,
                                 *operands)
                self.assert_fails(result, errno.EFBIG)
                self.assertIn('error writing', result.stderr)
                self.assert_unchanged(before)
        # within the fixed size writes work, and so does a whole new content
        self.assert_ok(self.dd(self.src('four', b'wxyz'), fixed, 'bs=4',
                               'seek=11'))
        want = patched(FIXED, 44, b'wxyz')
        self.check('/g/fixed', want)
        new = FIXED[::-1] + 5
        self.assert_ok(self.run_tool('cp', self.src('new', new.tobytes()),
                                     fixed))
        self.check('/g/fixed', new)
        # resizable along axis 0 up to 4 rows: past that, EFBIG at write
        more = np.arange(6, dtype='<i4').reshape(2, 3) + 300
        capped = self.p('g', 'capped')
        self.assert_ok(self.sh('cat "$1" >> "$2"',
                               self.src('more', more.tobytes()), capped))
        self.check('/g/capped', np.concatenate([ROWS, more]))
        result = self.run_tool('/bin/bash', '-c', 'cat "$2" >> "$1"', 'bash',
                               capped, self.src('row', more[:1].tobytes()))
        self.assert_fails(result, errno.EFBIG)
        self.assertIn('write error', result.stderr)  # cat's, not a close's
        self.check('/g/capped', np.concatenate([ROWS, more]))

    def test_failed_fsync_keeps_what_is_staged(self):
        # Half a row cannot be committed: fsync says so (EINVAL) and keeps
        # it; the next half completes the row, and the close commits both
        # halves — not zeros in place of the first.
        self.mount(errors=True)
        want = np.frombuffer(b'B' * 16 + b'C' * 16, '<i4').reshape(1, 8)
        for name, append in (('rows8', False), ('rows8a', True)):
            with self.subTest(append=append):
                path = self.p('g', name)
                fd = os.open(path, os.O_WRONLY | (os.O_APPEND if append
                                                  else 0))
                try:
                    if append:
                        self.assertEqual(os.write(fd, b'B' * 16), 16)
                    else:
                        self.assertEqual(os.pwrite(fd, b'B' * 16, 0), 16)
                    self.assert_errno(lambda: os.fsync(fd), errno.EINVAL)
                    if append:
                        self.assertEqual(os.write(fd, b'C' * 16), 16)
                    else:
                        self.assertEqual(os.pwrite(fd, b'C' * 16, 16), 16)
                finally:
                    os.close(fd)  # raises if the commit fails
                self.check('/g/' + name, want)

    def test_children_that_inherited_the_file_complete_a_row(self):
        # A parent opens the dataset for appending, starts two children
        # that inherit the descriptor, and closes its own copy. The first
        # child writes a row and a half: its close fails (EINVAL) and keeps
        # the half row staged; the second child's half row completes it, and
        # its close commits both rows.
        self.mount(errors=True)
        path = self.p('g', 'rows8')
        fd = os.open(path, os.O_WRONLY | os.O_APPEND)
        children = []
        try:
            for data in (b'B' * 48, b'C' * 16):
                children.append(subprocess.Popen(
                    [harness.PYTHON, '-c', 'import os, sys; sys.stdin.read(); '
                     'os.write(%d, %r); os.close(%d)' % (fd, data, fd)],
                    stdin=subprocess.PIPE, stderr=subprocess.PIPE,
                    pass_fds=(fd,)))
        finally:
            os.close(fd)
        errors = []
        for child in children:
            _, err = child.communicate(b'go', timeout=60)
            errors.append((child.returncode, err.decode()))
        self.assertNotEqual(errors[0][0], 0, 'the half row was committed')
        self.assertIn('Invalid argument', errors[0][1])
        self.assertEqual(errors[1][0], 0, errors[1][1])
        self.check('/g/rows8', np.frombuffer(b'B' * 48 + b'C' * 16,
                                             '<i4').reshape(2, 8))

    def test_fsync_without_the_lock_keeps_what_is_staged(self):
        # An fsync that cannot get the lock (EBUSY after --lock-timeout)
        # changed nothing and keeps every staged byte: the writes after it
        # and the close commit the whole, not zeros in place of the first
        # part — for a patch and for an O_TRUNC replacement alike.
        self.mount(['--lock-timeout', '1'], errors=True)
        fixed_want = np.frombuffer(b'B' * 24 + b'C' * 24, '<i4').reshape(4, 3)
        rows_want = np.frombuffer(b'B' * 32 + b'C' * 32, '<i4').reshape(2, 8)
        for h5path, flags, half, want in (
                ('/g/rows8', os.O_WRONLY, 32, rows_want),
                ('/g/fixed', os.O_WRONLY | os.O_TRUNC, 24, fixed_want)):
            with self.subTest(h5path):
                fd = os.open(self.p(h5path.lstrip('/')), flags)
                try:
                    self.assertEqual(os.pwrite(fd, b'B' * half, 0), half)
                    with self.exclusive_hold():
                        self.assert_errno(lambda: os.fsync(fd), errno.EBUSY)
                    self.assertEqual(os.pwrite(fd, b'C' * half, half), half)
                finally:
                    os.close(fd)  # raises if the commit fails
                self.check(h5path, want)

    # -- dd conv=notrunc ----------------------------------------------------

    def dd(self, src, dst, *operands):
        return self.run_tool('dd', 'if=' + src, 'of=' + dst, 'conv=notrunc',
                             'status=none', *operands)

    def test_dd_bs1_cuts_elements(self):
        self.mount()
        data = b'\xaa\xbb'
        src = self.src('two', data)
        # bytes 5 and 6: inside element 1 of the first row
        self.assert_ok(self.dd(src, self.p('g', 'fixed'), 'bs=1', 'seek=5'))
        want = patched(FIXED, 5, data)
        self.check('/g/fixed', want)
        # across the boundary of elements 3 and 4 (bytes 15, 16)
        self.assert_ok(self.dd(src, self.p('g', 'fixed'), 'bs=1', 'seek=15'))
        want = patched(want, 15, data)
        self.check('/g/fixed', want)
        # a big-endian dataset: the mount's bytes are native
        self.assert_ok(self.dd(src, self.p('g', 'be'), 'bs=1', 'seek=9'))
        self.check('/g/be', patched(BE, 9, data))
        with self.h5() as f:
            self.assertEqual(f['g/be'].dtype, np.dtype('>i4'))
            self.assertEqual(f['keep'][()].tolist(), [0, 1, 2])

    def test_dd_bs4_odd_seek(self):
        self.mount()
        data = np.array([-5, -6], '<i4').tobytes()
        src = self.src('two', data)
        # bs=4 seek=3: offset 12, elements 3 and 4
        self.assert_ok(self.dd(src, self.p('g', 'fixed'), 'bs=4', 'seek=3'))
        want = patched(FIXED, 12, data)
        self.check('/g/fixed', want)
        # bs=4 with a byte seek of 7: cuts elements 1 and 3
        self.assert_ok(self.dd(src, self.p('g', 'fixed'), 'bs=4', 'seek=7',
                               'oflag=seek_bytes'))
        want = patched(want, 7, data)
        self.check('/g/fixed', want)

    def test_dd_into_filtered_and_resizable(self):
        self.mount()
        data = RNG.bytes(100)
        src = self.src('hundred', data)
        self.assert_ok(self.dd(src, self.p('g', 'deflated'), 'bs=1',
                               'seek=1001'))
        self.check('/g/deflated', patched(DEFLATED, 1001, data))
        # inside the extent of a resizable dataset: shape stays
        self.assert_ok(self.dd(self.src('three', b'xyz'), self.p('g', 'rows'),
                               'bs=1', 'seek=2'))
        self.check('/g/rows', patched(ROWS, 2, b'xyz'))

    def test_dd_at_end_grows_resizable(self):
        self.mount()
        row = np.array([[31, 32, 33]], '<i4')
        self.assert_ok(self.dd(self.src('row', row.tobytes()),
                               self.p('g', 'rows'), 'bs=%d' % ROWS.nbytes,
                               'seek=1'))
        self.check('/g/rows', np.concatenate([ROWS, row]))
        # overlapping the end: last row rewritten, one new row
        two = np.array([[41, 42, 43], [51, 52, 53]], '<i4')
        self.assert_ok(self.dd(self.src('two', two.tobytes()),
                               self.p('g', 'rows'), 'bs=12', 'seek=2'))
        self.check('/g/rows', np.concatenate([ROWS, two]))

    def test_python_r_plus(self):
        self.mount()
        with open(self.p('g', 'fixed'), 'r+b') as io:
            io.seek(20)
            io.write(b'\x01\x02\x03')
            io.seek(0)
            io.write(b'\xff')
        want = patched(patched(FIXED, 20, b'\x01\x02\x03'), 0, b'\xff')
        self.check('/g/fixed', want)

    # -- truncate -------------------------------------------------------------

    def test_truncate_resizable(self):
        self.mount()
        path = self.p('g', 'rows')
        self.assert_ok(self.run_tool('truncate', '-s', 4 * 12, path))
        want = np.concatenate([ROWS, np.zeros((2, 3), '<i4')])
        self.check('/g/rows', want)
        self.assert_ok(self.run_tool('truncate', '-s', 12, path))
        self.check('/g/rows', ROWS[:1])
        self.assert_ok(self.run_tool('truncate', '-s', 0, path))
        self.check('/g/rows', np.zeros((0, 3), '<i4'))
        self.assert_ok(self.run_tool('truncate', '-s', 5, self.p('g',
                                                                 'bytes')))
        self.check('/g/bytes', np.frombuffer(b'abc\0\0', 'u1'))

    def test_truncate_resizable_partial_row_fails(self):
        self.mount(errors=True)
        before = self.snapshot()
        for size in (1, 13, 4 * 12 + 4):
            with self.subTest(size=size):
                self.assert_fails(self.run_tool('truncate', '-s', size,
                                                self.p('g', 'rows')),
                                  errno.EINVAL)
                self.assert_unchanged(before)

    def test_truncate_past_what_the_disk_could_hold_fails(self):
        # As `dd seek=1T`: a sparse terabyte is a mistake (and shrinking such
        # an extent again would visit every chunk position, for hours, under
        # the lock). By path, and through a descriptor open for writing.
        self.mount(errors=True)
        path = self.p('g', 'rows')
        before = self.snapshot()
        huge = (1 << 40) // 12 * 12
        self.assert_fails(self.run_tool('truncate', '-s', huge, path),
                          errno.EFBIG)
        self.assert_unchanged(before)
        fd = os.open(path, os.O_WRONLY)
        try:
            with self.assertRaises(OSError) as refused:
                os.ftruncate(fd, huge)
            self.assertEqual(refused.exception.errno, errno.EFBIG)
        finally:
            os.close(fd)
        self.assert_unchanged(before)
        # growing within the free space still works
        self.assert_ok(self.run_tool('truncate', '-s', 1200, path))
        self.assertEqual(os.stat(path).st_size, 1200)

    def test_truncate_fixed(self):
        self.mount(errors=True)
        before = self.snapshot()
        self.assert_ok(self.run_tool('truncate', '-s', FIXED.nbytes,
                                     self.p('g', 'fixed')))
        self.assert_unchanged(before)
        for size in (0, 12, FIXED.nbytes - 1, FIXED.nbytes + 12, 1 << 40):
            with self.subTest(size=size):
                self.assert_fails(self.run_tool('truncate', '-s', size,
                                                self.p('g', 'fixed')),
                                  errno.EINVAL, errno.EFBIG)
                self.assert_unchanged(before)


if __name__ == '__main__':
    wh.main()
