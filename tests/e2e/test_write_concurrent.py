#!/usr/bin/python3
"""Writes seen from another mount (SPEC.md section 5, consistency): a
reader never sees half of a write. Two daemons mount the same file with
the same redis: while `cp` replaces a 256 MiB dataset through mount A, a
loop of `cat` through mount B gets either the whole old or the whole new
bytes, the old before cp started and the new once it has returned. Staged
bytes stay invisible until close(); every change is visible on the other
mount once the call returned; appends from both mounts all land. A rename
on one mount does not lose what a writer on the other has staged: its
close commits into the object wherever it lives now."""

import errno
import hashlib
import io
import os
import subprocess
import threading
import time

import numpy as np

import write_harness as wh

import h5py

BIG = 256 << 20
PIECE = 16 << 20
ROUNDS = 3  # cats wanted before cp starts and after it returned
WAIT = 180.0


def pattern(piece_index, seed):
    """16 MiB of a pattern that differs for each piece and seed."""
    words = np.arange(piece_index * (PIECE // 4), (piece_index + 1)
                      * (PIECE // 4), dtype=np.uint32)
    words *= np.uint32(2654435761 if seed else 40503)
    words ^= np.uint32(seed * 0x9E3779B9 & 0xFFFFFFFF)
    return words.view(np.uint8)


class BigReplace(wh.WriteTestCase):

    H5DUMP_ARGS = ('-H',)  # the full text dump of 256 MiB takes too long

    def test_readers_see_whole_old_or_whole_new(self):
        old_sha = hashlib.sha256()
        new_sha = hashlib.sha256()

        def build(f):
            ds = f.create_dataset('big', shape=(BIG,), dtype='u1')
            for i in range(BIG // PIECE):
                piece = pattern(i, 0)
                ds[i * PIECE:(i + 1) * PIECE] = piece
                old_sha.update(piece)
            f.create_dataset('small', data=np.arange(10))

        self.make_file(build)
        src = os.path.join(self.tmp, 'new.bin')
        with open(src, 'wb') as out:
            for i in range(BIG // PIECE):
                piece = pattern(i, 1)
                out.write(piece.tobytes())
                new_sha.update(piece)
        old, new = old_sha.hexdigest(), new_sha.hexdigest()
        self.assertNotEqual(old, new)

        a = self.mount(name='mnt-a')
        b = self.mount(name='mnt-b')
        reader_path = self.p('big', mnt=b.mountpoint)
        cats = []  # (start, end, digest or error text)
        stop = threading.Event()

        def reader():
            while not stop.is_set():
                start = time.monotonic()
                result = subprocess.run(
                    ['/bin/sh', '-c', 'cat "$1" | sha256sum', 'sh',
                     reader_path], capture_output=True, timeout=120)
                end = time.monotonic()
                text = result.stdout.decode().split()[0] \
                    if result.returncode == 0 and result.stdout else \
                    'error %d: %s' % (result.returncode, result.stderr)
                cats.append((start, end, text))

        def wait_for(condition, what):
            deadline = time.monotonic() + WAIT
            while not condition():
                if time.monotonic() > deadline:
                    self.fail('timed out waiting for ' + what)
                if not thread.is_alive():
                    self.fail('reader died waiting for ' + what)
                stop.wait(0.05)

        thread = threading.Thread(target=reader, daemon=True)
        thread.start()
        try:
            wait_for(lambda: len(cats) >= ROUNDS, '%d cats before cp'
                     % ROUNDS)
            cp_start = time.monotonic()
            result = self.run_tool('cp', src, self.p('big',
                                                     mnt=a.mountpoint),
                                   timeout=WAIT)
            cp_end = time.monotonic()
            self.assert_ok(result)
            wait_for(lambda: sum(1 for c in list(cats) if c[0] > cp_end)
                     >= ROUNDS, '%d cats after cp' % ROUNDS)
        finally:
            stop.set()
            thread.join(WAIT)
        os.remove(src)
        names = {old: 'old', new: 'new'}
        story = ['%.2f-%.2f %s' % (s - cp_start, e - cp_start,
                                   names.get(d, d))
                 for s, e, d in cats]
        story = 'cp took 0-%.2f s; cats (start-end, relative to cp):\n  ' \
            % (cp_end - cp_start) + '\n  '.join(story)
        for start, end, digest in cats:
            self.assertIn(digest, (old, new), story)
            if end < cp_start:
                self.assertEqual(digest, old, story)
            if start > cp_end:
                self.assertEqual(digest, new, story)
        self.assertGreaterEqual(sum(1 for c in cats if c[1] < cp_start),
                                ROUNDS, story)
        # the file itself: the new bytes
        with self.h5() as f:
            check = hashlib.sha256()
            ds = f['big']
            for i in range(0, BIG, PIECE):
                check.update(ds[i:i + PIECE].tobytes())
            self.assertEqual(check.hexdigest(), new)
            self.assertEqual(f['small'][()].tolist(), list(range(10)))
        if os.environ.get('H5SWMRFS_E2E_VERBOSE'):
            print(story)


ROWS = np.arange(6, dtype='<i4').reshape(2, 3)


def build_small(f):
    g = f.create_group('g')
    g.create_dataset('fixed', data=np.arange(12, dtype='<i4'))
    g.create_dataset('rows', data=ROWS, maxshape=(None, 3), chunks=(16, 3))


class CrossMount(wh.WriteTestCase):

    def setUp(self):
        super().setUp()
        self.make_file(build_small)
        self.a = self.mount(name='mnt-a').mountpoint
        self.b = self.mount(name='mnt-b').mountpoint

    def test_staged_bytes_invisible_on_other_mount(self):
        old = np.arange(12, dtype='<i4').tobytes()
        new = np.arange(100, 112, dtype='<i4').tobytes()
        b_path = self.p('g', 'fixed', mnt=self.b)
        fd = os.open(self.p('g', 'fixed', mnt=self.a), os.O_WRONLY
                     | os.O_TRUNC)
        try:
            os.write(fd, new)
            # read in this process: no child closes a copy of fd
            self.assertEqual(self.read_in_process(b_path), old)
        finally:
            os.close(fd)
        self.assertEqual(self.read_in_process(b_path), new)
        self.assertEqual(self.cat(b_path), new)

    def test_changes_visible_on_other_mount(self):
        pa = lambda *parts: self.p(*parts, mnt=self.a)  # noqa: E731
        pb = lambda *parts: self.p(*parts, mnt=self.b)  # noqa: E731
        # prime B's caches
        self.assertEqual(sorted(os.listdir(pb('g'))), ['fixed', 'rows'])
        self.assertEqual(os.stat(pb('g', 'rows')).st_size, ROWS.nbytes)
        self.assertNotIn('user.note', os.listxattr(pb('g')))
        # then change through A, look through B
        self.assert_ok(self.run_tool('mkdir', pa('g', 'new')))
        self.assertTrue(os.path.isdir(pb('g', 'new')))
        self.assertEqual(sorted(os.listdir(pb('g'))),
                         ['fixed', 'new', 'rows'])
        more = np.arange(9, dtype='<i4').reshape(3, 3)
        self.assert_ok(self.sh('cat "$1" >> "$2"',
                               self.src('more', more.tobytes()),
                               pa('g', 'rows')))
        self.assertEqual(os.stat(pb('g', 'rows')).st_size,
                         ROWS.nbytes + more.nbytes)
        self.assertEqual(self.cat(pb('g', 'rows')),
                         ROWS.tobytes() + more.tobytes())
        self.assertEqual(self.xattr(pb('g', 'rows'), 'user.h5.shape'), '5,3')
        self.assert_ok(self.run_tool('setfattr', '-n', 'user.note', '-v',
                                     'hi', pa('g')))
        self.assertEqual(os.getxattr(pb('g'), 'user.note'), b'hi')
        self.assert_ok(self.run_tool('mv', pa('g', 'fixed'),
                                     pa('g', 'renamed')))
        self.assertFalse(os.path.exists(pb('g', 'fixed')))
        self.assertEqual(self.cat(pb('g', 'renamed')),
                         np.arange(12, dtype='<i4').tobytes())
        self.assert_ok(self.run_tool('rm', pa('g', 'renamed')))
        self.assertFalse(os.path.exists(pb('g', 'renamed')))
        self.assertEqual(sorted(os.listdir(pb('g'))), ['new', 'rows'])

    def test_concurrent_appends_all_land(self):
        # Two shell loops append one row per `>>`, one through each
        # mount: every row lands once, whole.
        count = 25
        procs = []
        for k, mnt in ((1, self.a), (2, self.b)):
            rows = os.path.join(self.tmp, 'rows%d' % k)
            os.mkdir(rows)
            for i in range(count):
                with open(os.path.join(rows, '%03d' % i), 'wb') as out:
                    out.write(np.array([k, i, k * 1000 + i],
                                       '<i4').tobytes())
            procs.append(subprocess.Popen(
                ['/bin/sh', '-c', 'for r in "$1"/*; do cat "$r" >> "$2" '
                 '|| exit 1; done', 'sh', rows,
                 self.p('g', 'rows', mnt=mnt)],
                stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                stderr=subprocess.PIPE))
        for proc in procs:
            try:
                _, err = proc.communicate(timeout=WAIT)
            except subprocess.TimeoutExpired:
                for p in procs:
                    if p.poll() is None:
                        p.kill()
                        p.wait()
                self.fail('appending loops hung')
            self.assertEqual(proc.returncode, 0, err.decode())
        with self.h5() as f:
            got = f['g/rows'][()]
        self.assertEqual(got[:2].tolist(), ROWS.tolist())
        want = sorted([k, i, k * 1000 + i] for k in (1, 2)
                      for i in range(count))
        self.assertEqual(sorted(got[2:].tolist()), want)
        # each loop's rows in its own order
        for k in (1, 2):
            mine = [r[1] for r in got[2:].tolist() if r[0] == k]
            self.assertEqual(mine, list(range(count)))


OLD = b'0123456789'
PATCHED = b'AB23456789'


class RenamedUnderAWriter(wh.WriteTestCase):
    """A writer's bytes go to the object it opened wherever that lives at
    close (docs/DESIGN.md: open files follow their object by address): a
    rename on another mount, of the dataset or of a group above it, loses
    nothing. Only an object that no longer exists fails the close (ESTALE
    or ENOENT), and the writer's mount logs why."""

    def setUp(self):
        super().setUp()
        self.make_file(lambda f: f.create_group('g'))
        self.m2 = self.mount(name='m2')
        self.m3 = self.mount(name='m3')

    def on(self, mount, *parts):
        return self.p(*parts, mnt=mount.mountpoint)

    def write_new(self, path, data):
        with open(path, 'wb') as out:
            out.write(data)

    def patch_while(self, path, change):
        """b'AB' written at 0 through an O_RDWR open of path, then change()
        run before the close; the errno of close() (0 if it worked)."""
        return self.write_fd(path, b'AB', os.O_RDWR, before_close=change)

    def assert_holds(self, h5path, data, gone):
        with self.h5() as f:
            for path in gone:
                self.assertNotIn(path, f)
            self.assertEqual(f[h5path][()].tobytes(), data, h5path)
        for mount in (self.m2, self.m3):
            self.assertEqual(self.cat(self.on(mount, h5path.lstrip('/'))),
                             data)

    def test_rename_of_the_dataset(self):
        for target in (('q2',), ('g', 'q3')):
            with self.subTest(target=target):
                self.write_new(self.on(self.m2, 'q1'), OLD)
                err = self.patch_while(self.on(self.m2, 'q1'), lambda: os.rename(
                    self.on(self.m3, 'q1'), self.on(self.m3, *target)))
                self.assertEqual(err, 0, os.strerror(err))
                self.assert_holds('/' + '/'.join(target), PATCHED, ['q1'])

    def test_rename_of_its_group(self):
        os.mkdir(self.on(self.m2, 'd'))
        self.write_new(self.on(self.m2, 'd', 'q1'), OLD)
        err = self.patch_while(self.on(self.m2, 'd', 'q1'), lambda: os.rename(
            self.on(self.m3, 'd'), self.on(self.m3, 'g', 'e')))
        self.assertEqual(err, 0, os.strerror(err))
        self.assert_holds('/g/e/q1', PATCHED, ['d'])

    def test_replaced_dataset_fails_the_close(self):
        self.write_new(self.on(self.m2, 'q1'), OLD)
        self.write_new(self.on(self.m2, 'other'), b'other')
        err = self.patch_while(self.on(self.m2, 'q1'), lambda: self.assert_ok(
            self.run_tool('mv', self.on(self.m3, 'other'),
                          self.on(self.m3, 'q1'))))
        self.assertIn(err, (errno.ESTALE, errno.ENOENT),
                      'close: %s' % (os.strerror(err) if err else 'no error'))
        self.assert_holds('/q1', b'other', ['other'])
        self.assertRegex(self.m2.log_text(),
                         r'(?m)^h5swmrfs\[\d+\] (warning|error): .*/q1\b',
                         'no warning in the writer\'s mount log')

    def test_deleted_dataset_whose_place_is_taken_fails_the_close(self):
        # HDF5 gives the header address of a deleted object at the end of
        # the file to the next object it makes: `rm x; touch y` on m3 puts
        # y where x was. m2's writer of x must not write into y.
        self.write_new(self.on(self.m3, 'x'), b'')
        os.setxattr(self.on(self.m3, 'x'), 'user.h5.dtype', b'<f4')
        x_at = self.h5_address('x')

        def replace():
            os.unlink(self.on(self.m3, 'x'))
            self.write_new(self.on(self.m3, 'y'), b'')
            self.assertEqual(self.h5_address('y'), x_at, 'y did not take x\'s '
                             'place: the case this test is about did not happen')
        fd = os.open(self.on(self.m2, 'x'), os.O_WRONLY)
        try:
            self.assertEqual(os.write(fd, b'secret!!'), 8)
            replace()
        except BaseException:
            os.close(fd)
            raise
        with self.assertRaises(OSError) as raised:
            os.close(fd)
        self.assertEqual(raised.exception.errno, errno.ESTALE)
        self.assert_holds('/y', b'', ['x'])
        self.assertRegex(self.m2.log_text(),
                         r'(?m)^h5swmrfs\[\d+\] (warning|error): .*/x\b')

    def h5_address(self, name):
        with self.h5() as f:
            return h5py.h5o.get_info(f[name].id).addr

    def test_new_dataset_rebuilt_where_it_moved(self):
        # .npy content makes the dataset this open created be rebuilt at
        # close: it is rebuilt where the dataset is by then, whichever
        # mount moved it into another group.
        array = np.arange(9, dtype='<f4').reshape(3, 3)
        content = io.BytesIO()
        np.save(content, array)
        for name, mover in (('by_other', self.m3), ('by_self', self.m2)):
            with self.subTest(moved=name):
                fd = os.open(self.on(self.m2, name),
                             os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
                try:
                    os.write(fd, content.getvalue())
                    os.rename(self.on(mover, name), self.on(mover, 'g', name))
                except BaseException:
                    os.close(fd)
                    raise
                os.close(fd)  # raises if the commit fails
                with self.h5() as f:
                    self.assertNotIn(name, f)
                    ds = f['g/' + name]
                    self.assertEqual((ds.dtype.str, ds.shape),
                                     ('<f4', (3, 3)))
                    self.assertEqual(ds[()].tolist(), array.tolist())


if __name__ == '__main__':
    wh.main()
