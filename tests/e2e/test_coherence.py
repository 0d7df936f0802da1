#!/usr/bin/python3
"""Kernel caching (--cache) stays coherent across mounts (README "Kernel caching").

Two mounts of one file: the reading mount first fills every cache the kernel
has (pages, a mapping, attributes, names, a name that does not exist,
extended attributes, a link), then the other mount (or an h5py program under
`h5swmrfs-ctl run --exclusive`) changes the file. Everything the reading
mount is asked after the change returned shows the new state, and a mapping
made before shows the new bytes. Staged bytes are never seen, on either
mount, until their close. And the caches are real: a second read of a
dataset does not reach the daemon (its metrics count the read requests)."""

import errno
import mmap
import os
import re
import signal
import subprocess
import threading
import time
import urllib.request

import h5py
import numpy as np

import harness
import write_harness as wh
from test_fault_hooks import use_fault_file

A = np.arange(1000, dtype='<f4')   # g/a: resizable
B = np.arange(16, dtype='<i4')     # g/b: fixed size
V = np.arange(100000, dtype='<f4')  # the dataset a virtual one is made of


def build(f):
    g = f.create_group('g')
    g.create_dataset('a', data=A, maxshape=(None,), chunks=(100,))
    g.create_dataset('b', data=B)
    g.create_group('sub')
    g.attrs['units'] = 'm'
    f['ln'] = h5py.SoftLink('/g/a')


def metric(port, series):
    """The value of one series of the daemon's metrics (0 when absent)."""
    with urllib.request.urlopen('http://127.0.0.1:%d/metrics' % port,
                                timeout=10) as response:
        text = response.read().decode()
    found = re.search(r'^%s (\S+)$' % re.escape(series), text, re.M)
    return float(found.group(1)) if found else 0.0


def read_requests(port):
    """The daemon's count of read requests answered."""
    return metric(port, 'h5swmrfs_operations_total{op="read",result="ok"}')


class Coherence(wh.WriteTestCase):

    def setUp(self):
        super().setUp()
        use_fault_file(self)  # empty: no fault, until a test arms one
        self.make_file(build)
        self.port = harness.free_port()
        self.reader = self.mount(name='ra', args=['--cache',
            '--metrics', '127.0.0.1:%d' % self.port])
        self.writer = self.mount(name='wb', args=['--cache'])
        self.ra = self.reader.mountpoint
        self.wb = self.writer.mountpoint
        self.maps = []

    def tearDown(self):
        for mapping in self.maps:
            mapping.close()

    def a(self, *parts):
        return os.path.join(self.ra, *parts)

    def b(self, *parts):
        return os.path.join(self.wb, *parts)

    def mapping(self, path):
        """A read-only shared mapping of path; its descriptor closed at once
        (the mapping keeps the file open, as numpy.memmap does)."""
        with open(path, 'rb') as f:
            mapped = mmap.mmap(f.fileno(), 0, prot=mmap.PROT_READ)
        self.maps.append(mapped)
        return mapped

    def mapping_process(self, path):
        """A process that maps path (read-only, shared) and prints what the
        mapping holds each time it is asked: a mapping that faults with
        SIGBUS kills it, not the test."""
        script = ('import mmap, sys\n'
                  'f = open(sys.argv[1], "rb")\n'
                  'm = mmap.mmap(f.fileno(), 0, prot=mmap.PROT_READ)\n'
                  'print("ready", flush=True)\n'
                  'for line in sys.stdin:\n'
                  '    print(m[:].hex(), flush=True)\n')
        child = subprocess.Popen([harness.PYTHON, "-c", script, path], text=True,
                                 stdin=subprocess.PIPE, stdout=subprocess.PIPE)
        self.addCleanup(child.stdout.close)
        self.addCleanup(child.wait, 10)
        self.addCleanup(child.stdin.close)
        self.assertEqual(child.stdout.readline(), 'ready\n')

        def mapped():
            child.stdin.write('\n')
            child.stdin.flush()
            line = child.stdout.readline()
            if not line:
                self.fail('the mapping process died (%s)' % child.wait(10))
            return bytes.fromhex(line.strip())
        return mapped

    def fill(self):
        """Everything the reading mount's kernel can keep, filled now."""
        self.assertEqual(self.read_in_process(self.a('g', 'a')), A.tobytes())
        self.assertEqual(self.read_in_process(self.a('g', 'b')), B.tobytes())
        maps = {'a': self.mapping(self.a('g', 'a')),
                'b': self.mapping(self.a('g', 'b'))}
        self.assertEqual(maps['a'][:8], A[:2].tobytes())
        self.assertEqual(maps['b'][:], B.tobytes())
        self.assertEqual(os.stat(self.a('g', 'a')).st_size, A.nbytes)
        self.assertEqual(sorted(os.listdir(self.a('g'))), ['a', 'b', 'sub'])
        self.assertEqual(self.xattr(self.a('g'), 'user.units'), 'm')
        self.assertEqual(os.readlink(self.a('ln')), 'g/a')
        self.assertFalse(os.path.exists(self.a('g', 'new')))
        return maps

    def run_ok(self, *args):
        self.assert_ok(self.run_tool(*args))

    # -- data ---------------------------------------------------------------

    def test_cp_replaces_what_a_reader_cached_and_mapped(self):
        maps = self.fill()
        new = (B + 100).tobytes()
        self.run_ok('cp', self.src('new', new), self.b('g', 'b'))
        self.assertEqual(self.read_in_process(self.a('g', 'b')), new)
        self.assertEqual(maps['b'][:], new)

    def test_append_grows_the_cached_size(self):
        self.fill()
        row = np.array([-1.5], '<f4').tobytes()
        self.assert_ok(self.sh('cat "$1" >> "$2"', self.src('row', row),
                               self.b('g', 'a')))
        self.assertEqual(os.stat(self.a('g', 'a')).st_size, A.nbytes + 4)
        self.assertEqual(self.read_in_process(self.a('g', 'a')),
                         A.tobytes() + row)

    def test_dd_notrunc_shows_in_pages_and_mapping(self):
        maps = self.fill()
        patch = np.full(100, 7.0, '<f4').tobytes()
        self.run_ok('dd', 'if=' + self.src('patch', patch),
                    'of=' + self.b('g', 'a'), 'bs=400', 'seek=1',
                    'conv=notrunc', 'status=none')
        want = A.tobytes()[:400] + patch + A.tobytes()[800:]
        self.assertEqual(maps['a'][:], want)
        self.assertEqual(self.read_in_process(self.a('g', 'a')), want)

    def test_truncate_shrinks_the_cached_size(self):
        self.fill()
        self.run_ok('truncate', '-s', '400', self.b('g', 'a'))
        self.assertEqual(os.stat(self.a('g', 'a')).st_size, 400)
        self.assertEqual(self.read_in_process(self.a('g', 'a')),
                         A.tobytes()[:400])

    def test_h5py_writer_under_the_exclusive_lock(self):
        maps = self.fill()
        script = ('import h5py, numpy as np\n'
                  'with h5py.File(%r, "r+") as f:\n'
                  '    f["g/b"][...] = np.arange(16, dtype="<i4") * 3\n'
                  '    f["g"].attrs["units"] = "km"\n'
                  '    f.create_group("g/new")\n' % self.h5path)
        result = subprocess.run(
            [self.ctl, '--redis', self.redis.url(), 'run', '--exclusive',
             self.h5path, '--', wh.harness.PYTHON, '-c', script],
            capture_output=True, text=True, timeout=60,
            env=dict(os.environ, HDF5_USE_FILE_LOCKING='FALSE'))
        self.assertEqual(result.returncode, 0, result.stderr)
        new = (B * 3).tobytes()
        self.assertEqual(self.read_in_process(self.a('g', 'b')), new)
        self.assertEqual(maps['b'][:], new)
        self.assertEqual(self.xattr(self.a('g'), 'user.units'), 'km')
        self.assertTrue(os.path.isdir(self.a('g', 'new')))

    def test_a_change_returns_once_the_reading_mount_dropped_its_caches(self):
        """The reading mount is made slow to drop (a test-only pause before
        it empties the kernel's caches): the change waits for it, so what
        its mapping and its cached size show right after is new."""
        maps = self.fill()
        with open(self.fault_file, 'w') as out:
            out.write('pause cache-drop@%s 1500' % os.path.realpath(self.ra))
        began = time.monotonic()
        new = (B + 5).tobytes()
        self.run_ok('cp', self.src('new', new), self.b('g', 'b'))
        took = time.monotonic() - began
        self.assertEqual(os.path.getsize(self.fault_file), 0,
                         'the reading mount never dropped its caches')
        self.assertEqual(maps['b'][:], new)
        self.assertGreaterEqual(took, 1.4, 'the change did not wait')
        row = np.array([2.5], '<f4').tobytes()
        with open(self.fault_file, 'w') as out:
            out.write('pause cache-drop@%s 1500' % os.path.realpath(self.ra))
        self.assert_ok(self.sh('cat "$1" >> "$2"', self.src('row', row),
                               self.b('g', 'a')))
        self.assertEqual(os.stat(self.a('g', 'a')).st_size, A.nbytes + 4)

    def test_an_open_after_a_change_finds_the_size_of_the_version_it_reads(self):
        """A change elsewhere is published and its hold gone, but the reading
        mount has not yet made its kernel forget what it cached (a test-only
        pause): the change has not returned, and the mount may still answer a
        stat(2) begun before from its cache. An open made now reads the new
        version, so its fstat(2) must give the new size, not the cached one
        (as NFS asks the server at open): else a mapping of that size shows
        zeros past the new end rather than SIGBUS, and `cat` a short file."""
        self.fill()
        self.assertEqual(os.stat(self.a('g', 'a')).st_size, A.nbytes)
        with open(self.fault_file, 'w') as out:
            out.write('pause cache-drop@%s 3000' % os.path.realpath(self.ra))
        cut = threading.Thread(target=os.truncate, args=(self.b('g', 'a'), 400))
        cut.start()
        self.addCleanup(cut.join)
        # Published: the drop of the reading mount is pending, nobody holds
        # the lock or waits for it, and the truncation has not returned.
        for _ in wh.harness.deadline_loop(20):
            status = self.lock_status()
            if status['drops'] and not status['holders']:
                break
        self.assertTrue(cut.is_alive(), 'the change returned before the drop')
        fd = os.open(self.a('g', 'a'), os.O_RDONLY)
        try:
            size = os.fstat(fd).st_size
            data = os.pread(fd, A.nbytes, 0)
        finally:
            os.close(fd)
        self.assertTrue(cut.is_alive(), 'the change returned before the open')
        self.assertEqual(data, A[:100].tobytes())
        self.assertEqual(size, 400, 'fstat after the open gave the size of '
                         'before the change')
        cut.join()

    # -- metadata and names ---------------------------------------------------

    def test_setfattr_replaces_a_cached_value(self):
        self.fill()
        self.run_ok('setfattr', '-n', 'user.units', '-v', 'km', self.b('g'))
        self.assertEqual(self.xattr(self.a('g'), 'user.units'), 'km')
        self.run_ok('setfattr', '-n', 'user.extra', '-v', '1', self.b('g'))
        self.assertIn('user.extra', os.listxattr(self.a('g')))

    def test_mkdir_ends_a_cached_absence(self):
        self.fill()
        os.mkdir(self.b('g', 'new'))
        self.assertTrue(os.path.isdir(self.a('g', 'new')))
        self.assertIn('new', os.listdir(self.a('g')))

    def test_rmdir_rm_and_mv_end_cached_names(self):
        self.fill()
        os.rmdir(self.b('g', 'sub'))
        self.assertFalse(os.path.exists(self.a('g', 'sub')))
        os.unlink(self.b('g', 'b'))
        self.assertFalse(os.path.exists(self.a('g', 'b')))
        with self.assertRaises(FileNotFoundError):
            os.stat(self.a('g', 'b'))
        os.rename(self.b('g', 'a'), self.b('g', 'a2'))
        self.assertFalse(os.path.exists(self.a('g', 'a')))
        self.assertEqual(self.read_in_process(self.a('g', 'a2')), A.tobytes())
        self.assertEqual(sorted(os.listdir(self.a('g'))), ['a2'])

    def test_ln_s_replaces_a_cached_link(self):
        self.fill()
        os.unlink(self.b('ln'))
        os.symlink('g/b', self.b('ln'))
        self.assertEqual(os.readlink(self.a('ln')), 'g/b')
        self.assertEqual(self.read_in_process(self.a('ln')), B.tobytes())

    # -- what is not committed ------------------------------------------------

    def test_staged_bytes_are_seen_by_no_one_until_the_close(self):
        maps = self.fill()
        b_map = self.mapping(self.b('g', 'b'))
        new = (B - 1).tobytes()
        fd = os.open(self.b('g', 'b'), os.O_RDWR)
        try:
            self.assertEqual(os.write(fd, new), len(new))
            self.assertEqual(os.pread(fd, len(new), 0), new)  # its own writes
            for where in (self.a('g', 'b'), self.b('g', 'b')):
                self.assertEqual(self.read_in_process(where), B.tobytes(), where)
                self.assertEqual(os.stat(where).st_size, B.nbytes, where)
            self.assertEqual(maps['b'][:], B.tobytes())
            self.assertEqual(b_map[:], B.tobytes())
            # A shared mapping of a descriptor open for writing would let the
            # page cache carry staged bytes: refused.
            with self.assertRaises(OSError) as refused:
                mmap.mmap(fd, 0, prot=mmap.PROT_READ)
            self.assertEqual(refused.exception.errno, errno.ENODEV)
        finally:
            os.close(fd)
        for where in (self.a('g', 'b'), self.b('g', 'b')):
            self.assertEqual(self.read_in_process(where), new, where)
        self.assertEqual(maps['b'][:], new)
        self.assertEqual(b_map[:], new)

    def test_a_replacement_in_progress_leaves_its_own_mount_the_old_content(self):
        """cp opens with O_TRUNC, and the kernel sets the size to 0 itself:
        until the close, readers of the writer's own mount (read, stat, even
        the writer's fstat) still see the old content, not an empty file.
        A mapping there keeps the old bytes too."""
        maps = self.fill()
        own = self.mapping_process(self.b('g', 'b'))
        self.assertEqual(own(), B.tobytes())
        new = (B + 5).tobytes()
        fd = os.open(self.b('g', 'b'), os.O_WRONLY | os.O_TRUNC)
        try:
            self.assertEqual(own(), B.tobytes())
            self.assertEqual(os.write(fd, new[:24]), 24)
            self.assertEqual(os.fstat(fd).st_size, B.nbytes)
            for where in (self.b('g', 'b'), self.a('g', 'b')):
                self.assertEqual(os.stat(where).st_size, B.nbytes, where)
                self.assertEqual(self.read_in_process(where), B.tobytes(), where)
            self.assertEqual(maps['b'][:], B.tobytes())
            self.assertEqual(own(), B.tobytes())
            self.assertEqual(os.write(fd, new[24:]), len(new) - 24)
        finally:
            os.close(fd)
        for where in (self.b('g', 'b'), self.a('g', 'b')):
            self.assertEqual(self.read_in_process(where), new, where)
        self.assertEqual(maps['b'][:], new)
        self.assertEqual(own(), new)

    def test_an_append_in_progress_shows_its_own_mount_no_zeros(self):
        """An appender's staged rows past the committed end: a reader of the
        appender's own mount that opened before sees the committed rows and
        its end, not zeros up to the staged end."""
        self.fill()
        path = self.b('g', 'a')
        reader = os.open(path, os.O_RDONLY)
        try:
            self.assertEqual(os.pread(reader, 16, 0), A[:4].tobytes())
            rows = np.arange(5000, dtype='<f4').tobytes()
            fd = os.open(path, os.O_WRONLY | os.O_APPEND)
            try:
                self.assertEqual(os.write(fd, rows), len(rows))
                self.assertEqual(os.stat(path).st_size, A.nbytes)
                self.assertEqual(os.pread(reader, 1 << 20, 0), A.tobytes())
                self.assertEqual(self.read_in_process(path), A.tobytes())
            finally:
                os.close(fd)
        finally:
            os.close(reader)
        self.assertEqual(self.read_in_process(path), A.tobytes() + rows)

    # -- the caches are real --------------------------------------------------

    def test_a_second_read_does_not_reach_the_daemon(self):
        self.assertEqual(self.read_in_process(self.a('g', 'a')), A.tobytes())
        # A request is counted just after its answer is sent: wait for the count.
        for _ in harness.deadline_loop(5):
            if read_requests(self.port) > 0:
                break
        first = read_requests(self.port)
        self.assertGreater(first, 0)
        for _ in range(3):
            self.assertEqual(self.read_in_process(self.a('g', 'a')),
                             A.tobytes())
        mapped = self.mapping(self.a('g', 'a'))
        self.assertEqual(mapped[:], A.tobytes())
        self.assertEqual(read_requests(self.port), first)
        # A change elsewhere empties the cache: the next read asks again.
        self.run_ok('dd', 'if=' + self.src('z', bytes(4)), 'of=' + self.b('g', 'a'),
                    'conv=notrunc', 'status=none')
        self.assertEqual(self.read_in_process(self.a('g', 'a')),
                         bytes(4) + A.tobytes()[4:])
        for _ in harness.deadline_loop(5):
            if read_requests(self.port) > first:
                break
        self.assertGreater(read_requests(self.port), first)

    def test_ls_l_asks_security_selinux_once_per_listing(self):
        """`ls -l` asks two names outside user. of every file: the ACL (none:
        ENODATA) and security.selinux, answered as not supported (EOPNOTSUPP),
        which ls then takes as true of the whole mount and asks no more."""
        for i in range(20):
            self.run_ok('cp', self.src('d%d' % i, B.tobytes()), self.b('g', 'd%d' % i))
        self.run_ok('ls', '-l', self.a('g'))  # fills names and attributes

        def getxattr_requests(result):
            return metric(self.port, 'h5swmrfs_operations_total{op="getxattr",result="%s"}' % result)

        before = {r: getxattr_requests(r) for r in ('ok', 'ENODATA', 'EOPNOTSUPP')}
        listing = self.run_tool('ls', '-l', self.a('g'))
        self.assert_ok(listing)
        entries = len(listing.stdout.splitlines()) - 1  # "total" first
        self.assertEqual(entries, 3 + 20, listing.stdout.decode())  # a, b, sub, d*
        # Counted just after each answer is sent: the last may take a moment.
        for _ in harness.deadline_loop(5):
            asked = {r: getxattr_requests(r) - before[r] for r in before}
            if asked['ENODATA'] >= entries:
                break
        self.assertEqual((asked['ok'], asked['EOPNOTSUPP']), (0, 1), asked)
        # The ACLs: one per entry, and the default ACL of a directory (sub); when
        # security.selinux was asked of every entry too, twice as many.
        self.assertLess(asked['ENODATA'], 2 * entries, asked)


class Interleavings(wh.WriteTestCase):
    """What a cache must not do to the mount's own requests: wait for itself
    (a change that holds a directory's lock while the mount forgets names in
    it), break a reader's one version, or keep a name a listing made before."""

    LOCK_TIMEOUT = 8

    def setUp(self):
        super().setUp()
        self.make_file(build)
        args = ['--cache', '--lock-timeout', str(self.LOCK_TIMEOUT)]
        self.one = self.mount(name='m1', args=args, errors=True).mountpoint  # EIO of an old reader
        self.two = self.mount(name='m2', args=args).mountpoint

    def assert_old_version_or_eio(self, fd, old, at):
        """The rest of `fd` (read up to `at`) is the rest of `old`, or cut short by EIO."""
        rest = b''
        try:
            while True:
                piece = os.read(fd, 1 << 20)
                if not piece:
                    break
                rest += piece
        except OSError as e:
            self.assertEqual(e.errno, errno.EIO)
            self.assertEqual(rest, old[at:at + len(rest)], 'new bytes before the EIO')
        else:
            self.assertEqual(rest, old[at:], 'the old reader got bytes of the new version')

    def timed(self, action):
        began = time.monotonic()
        action()
        return time.monotonic() - began

    def test_setfattr_on_a_cached_group_does_not_wait_for_itself(self):
        os.listdir(os.path.join(self.one, 'g'))
        for target in (os.path.join(self.one, 'g'), self.one):
            took = self.timed(lambda: os.setxattr(target, 'user.t', b'1'))
            self.assertLess(took, self.LOCK_TIMEOUT / 2, target)

    def test_mkdir_on_both_mounts_at_once(self):
        for round in range(3):
            for mnt in (self.one, self.two):
                os.listdir(os.path.join(mnt, 'g'))
            procs = [subprocess.Popen(['mkdir', os.path.join(mnt, 'g', 'd%d%d' % (round, i))])
                     for i, mnt in enumerate((self.one, self.two))]
            began = time.monotonic()
            for proc in procs:
                self.assertEqual(proc.wait(60), 0)
            self.assertLess(time.monotonic() - began, self.LOCK_TIMEOUT / 2)

    def test_a_listing_made_before_a_rename_makes_no_stale_name(self):
        listing = os.scandir(os.path.join(self.one, 'g'))
        self.addCleanup(listing.close)
        os.rename(os.path.join(self.two, 'g', 'b'), os.path.join(self.two, 'b2'))
        list(listing)  # readdirplus now, from the listing made at opendir
        self.assertFalse(os.path.exists(os.path.join(self.one, 'g', 'b')))
        # That old listing is not what the kernel keeps for the next one.
        self.assertEqual(sorted(os.listdir(os.path.join(self.one, 'g'))), ['a', 'sub'])
        self.assertEqual(self.read_in_process(os.path.join(self.one, 'b2')), B.tobytes())

    def test_a_working_directory_survives_a_change_elsewhere(self):
        here = os.getcwd()
        os.chdir(os.path.join(self.one, 'g'))
        self.addCleanup(os.chdir, here)
        os.listdir('.')
        os.mkdir(os.path.join(self.two, 'g', 'new'))
        self.assertEqual(os.getcwd(), os.path.join(os.path.realpath(self.one), 'g'))
        self.assertIn('new', os.listdir('.'))

    def test_a_reader_of_the_old_version_gets_it_or_eio_never_new_bytes(self):
        path = os.path.join(self.one, 'g', 'a')
        old = A.tobytes()
        fd = os.open(path, os.O_RDONLY)
        try:
            self.assertEqual(os.read(fd, 400), old[:400])
            new = (A + 1).tobytes()
            # The writer waits for the reader's pin for a quarter of the lock timeout.
            self.assertEqual(self.write_fd(os.path.join(self.two, 'g', 'a'), new), 0)
            self.assertEqual(self.read_in_process(path), new)  # a new open sees it
            self.assert_old_version_or_eio(fd, old, 400)
        finally:
            os.close(fd)


    def test_a_mapping_does_not_bring_new_bytes_to_a_reader_of_the_old_version(self):
        # The page cache is the dataset's, not the open's: pages a mapping made before the
        # change faults in after it would reach the old reader too.
        path = os.path.join(self.one, 'g', 'a')
        old, new = A.tobytes(), (A + 1).tobytes()
        script = ('import mmap, sys\n'
                  'f = open(sys.argv[1], "rb")\n'
                  'm = mmap.mmap(f.fileno(), 0, prot=mmap.PROT_READ)\n'
                  'print(m[:].hex(), flush=True)\n'
                  'sys.stdin.readline()\n'
                  'print(m[:].hex(), flush=True)\n')
        mapper = subprocess.Popen([harness.PYTHON, '-c', script, path], text=True,
                                  stdin=subprocess.PIPE, stdout=subprocess.PIPE)
        self.addCleanup(mapper.wait, 10)
        self.addCleanup(mapper.stdout.close)
        self.addCleanup(mapper.stdin.close)
        fd = os.open(path, os.O_RDONLY)
        try:
            self.assertEqual(os.read(fd, 400), old[:400])
            self.assertEqual(bytes.fromhex(mapper.stdout.readline().strip()), old)
            self.assertEqual(self.write_fd(os.path.join(self.two, 'g', 'a'), new), 0)
            # The mapping faults first: with the old reader open it does not follow the
            # file (SIGBUS), rather than fill the page cache with the new version.
            mapper.stdin.write('\n')
            mapper.stdin.flush()
            line = mapper.stdout.readline()
            self.assert_old_version_or_eio(fd, old, 400)
            self.assertEqual(line, '', 'the mapping followed the file while a reader of the old version was open')
            self.assertEqual(mapper.wait(10), -signal.SIGBUS)
        finally:
            os.close(fd)
        # Once it is closed, a mapping follows the file again.
        self.assertEqual(self.read_in_process(path), new)


    def test_a_private_mapping_of_a_newer_open_brings_no_new_bytes_to_an_older_reader(self):
        # A newer open reads past the page cache while the older reader is open, but a
        # private mapping of it (numpy.memmap mode="c") still faults through the page cache.
        path = os.path.join(self.one, 'g', 'a')
        old, new = A.tobytes(), (A + 1).tobytes()
        fd = os.open(path, os.O_RDONLY)
        try:
            self.assertEqual(os.read(fd, 400), old[:400])
            self.assertEqual(self.write_fd(os.path.join(self.two, 'g', 'a'), new), 0)
            script = ('import mmap, sys\n'
                      'f = open(sys.argv[1], "rb")\n'
                      'm = mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_COPY)\n'
                      'print(m[:].hex(), flush=True)\n')
            mapper = subprocess.run([harness.PYTHON, '-c', script, path], text=True,
                                    capture_output=True, timeout=30)
            self.assert_old_version_or_eio(fd, old, 400)
            self.assertEqual(mapper.returncode, -signal.SIGBUS, mapper.stderr[-300:])
        finally:
            os.close(fd)
        # Once it is closed, the dataset maps again.
        with open(path, 'rb') as f:
            self.assertEqual(mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_COPY)[:], new)

    def test_a_change_of_another_dataset_through_this_mount_leaves_mappings_alone(self):
        # A reader opened before a commit of this mount that did not touch its dataset
        # sees the same bytes as a newer open: a mapping of the newer open faults, shared
        # or private, with no SIGBUS and no ENODEV.
        path = os.path.join(self.one, 'g', 'a')
        old = A.tobytes()
        fd = os.open(path, os.O_RDONLY)
        try:
            self.assertEqual(os.read(fd, 400), old[:400])
            self.assertEqual(self.write_fd(os.path.join(self.one, 'g', 'b'), (B + 1).tobytes()), 0)
            script = ('import mmap, sys\n'
                      'f = open(sys.argv[1], "rb")\n'
                      'print(mmap.mmap(f.fileno(), 0, prot=mmap.PROT_READ)[:].hex())\n'
                      'print(mmap.mmap(f.fileno(), 0, access=mmap.ACCESS_COPY)[:].hex())\n')
            mapper = subprocess.run([harness.PYTHON, '-c', script, path], text=True,
                                    capture_output=True, timeout=30)
            self.assertEqual(mapper.returncode, 0, mapper.stderr[-300:])
            self.assertEqual([bytes.fromhex(line) for line in mapper.stdout.split()], [old, old])
            self.assertEqual(os.read(fd, len(old)), old[400:])
        finally:
            os.close(fd)

    def mount_virtual(self):
        """A file of /a and /v, a virtual dataset made of /a, on a caching mount of its own."""
        def with_virtual(f):
            f.create_dataset('a', data=V, chunks=(1000,))
            layout = h5py.VirtualLayout(shape=V.shape, dtype='<f4')
            layout[:] = h5py.VirtualSource('.', '/a', shape=V.shape)
            f.create_virtual_dataset('v', layout)

        path = self.make_file(with_virtual, path=os.path.join(self.tmp, 'virtual.h5'))
        return self.mount(name='v1', args=['--cache'], errors=True, h5path=path).mountpoint

    def assert_reader_keeps_its_version(self, read, written, old, new, **write):
        """A reader of `read` that has read 4096 bytes of `old`, then `new` written to
        `written` (write_fd, with `write`): the write returns, and the reader gets the
        rest of `old`, or EIO."""
        fd = os.open(read, os.O_RDONLY)
        try:
            self.assertEqual(os.read(fd, 4096), old[:4096])
            self.assertEqual(self.write_fd(written, new, **write), 0)
            self.assert_old_version_or_eio(fd, old, 4096)
        finally:
            os.close(fd)

    def test_a_reader_of_a_virtual_dataset_gets_its_version_or_eio(self):
        # A virtual dataset's bytes are another's: a commit of that one through the same
        # mount changes them, though it touches nothing of the virtual dataset itself.
        mnt = self.mount_virtual()
        old, new = V.tobytes(), (V + 1).tobytes()
        self.assert_reader_keeps_its_version(os.path.join(mnt, 'v'), os.path.join(mnt, 'a'), old, new)
        self.assertEqual(self.read_in_process(os.path.join(mnt, 'v')), new)

    def test_a_reader_of_a_virtual_dataset_s_source_gets_its_version_or_eio(self):
        # And a write of the virtual dataset, in place, writes the dataset it is made of.
        mnt = self.mount_virtual()
        old, new = V.tobytes(), (V + 1).tobytes()
        self.assert_reader_keeps_its_version(os.path.join(mnt, 'a'), os.path.join(mnt, 'v'), old, new,
                                             flags=os.O_WRONLY)
        with h5py.File(os.path.join(self.tmp, 'virtual.h5'), 'r') as f:
            now = f['a'][...].tobytes()
        self.assertEqual(self.read_in_process(os.path.join(mnt, 'a')), now)

    def test_a_long_read_through_hdf5_holds_up_no_open_of_its_dataset(self):
        """A read of the virtual dataset (through HDF5) made long by a test-only
        pause where its H5Dread runs: another open of that dataset returns
        meanwhile (the open looks at each open of the dataset, under the mutex
        that every open and close of the mount takes), and the read then gives
        its bytes."""
        use_fault_file(self)
        mnt = self.mount_virtual()
        path = os.path.join(mnt, 'v')
        # O_DIRECT: past the page cache, so that no page is locked by the kernel while the
        # read is answered (an open that empties the page cache waits for those).
        fd = os.open(path, os.O_RDONLY | os.O_DIRECT)
        try:
            with open(self.fault_file, 'w') as out:
                out.write('pause read-hdf5 4000')
            got = {}
            buffer = mmap.mmap(-1, 4096)  # page-aligned
            self.addCleanup(buffer.close)
            reading = threading.Thread(
                target=lambda: got.update(data=buffer[:os.preadv(fd, [buffer], 0)]))
            reading.start()
            deadline = time.monotonic() + 10
            while os.path.getsize(self.fault_file) and time.monotonic() < deadline:
                time.sleep(0.01)
            self.assertEqual(os.path.getsize(self.fault_file), 0, 'the read never reached its H5Dread')
            began = time.monotonic()
            os.close(os.open(path, os.O_RDONLY))
            took = time.monotonic() - began
            paused = reading.is_alive()
            reading.join(30)
            self.assertLess(took, 2.0, 'the open waited for the read')
            self.assertTrue(paused, 'the read was over before the open returned')
            self.assertEqual(got.get('data'), V.tobytes()[:4096])
        finally:
            os.close(fd)


class StoppedPastItsLease(wh.WriteTestCase):

    def test_a_mount_that_wakes_forgets_before_it_serves_again(self):
        """A caching mount stopped (SIGSTOP) past its lease is not waited for;
        when it runs again, its first act is to give its hold up and forget
        what it cached: after that drop, it shows the change."""
        self.make_file(build)
        port = harness.free_port()
        reader = self.mount(name='ra', args=['--cache', '--lease', '2', '--metrics',
                                             '127.0.0.1:%d' % port])
        writer = self.mount(name='wb', args=['--cache', '--lease', '2'])
        path = os.path.join(reader.mountpoint, 'g', 'b')
        self.assertEqual(self.read_in_process(path), B.tobytes())
        with open(path, 'rb') as f:
            mapped = mmap.mmap(f.fileno(), 0, prot=mmap.PROT_READ)
        self.addCleanup(mapped.close)
        self.assertEqual(mapped[:], B.tobytes())
        drops = metric(port, 'h5swmrfs_cache_drops_total')
        new = (B * 7).tobytes()
        # In this process: a child would close the mapping's descriptor at its exec,
        # and a close on the stopped mount waits for it.
        os.kill(reader.proc.pid, signal.SIGSTOP)
        try:
            began = time.monotonic()
            self.assertEqual(self.write_fd(os.path.join(writer.mountpoint, 'g', 'b'),
                                           new), 0)
            print('  cp beside a stopped caching mount took %.2f s (lease 2 s)'
                  % (time.monotonic() - began))
        finally:
            os.kill(reader.proc.pid, signal.SIGCONT)
        for _ in harness.deadline_loop(10):
            if metric(port, 'h5swmrfs_cache_drops_total') > drops:
                break
        self.assertGreater(metric(port, 'h5swmrfs_cache_drops_total'), drops,
                           'the mount that woke never dropped its caches')
        self.assertEqual(self.read_in_process(path), new)
        self.assertEqual(mapped[:], new)
        self.assertEqual(os.stat(path).st_size, len(new))


class LeaseInDoubt(wh.WriteTestCase):

    def test_a_mount_whose_lease_is_in_doubt_forgets_at_once(self):
        """A caching mount that cannot renew its lease (redis stopped) gives
        its hold up and forgets what it cached at once, even while a reader
        of the file is open (its pin is cut, not kept for the grace of
        --lock-timeout/4 = 10 s): a writer elsewhere may get the lock as
        soon as the lease ends."""
        self.make_file(build)
        port = harness.free_port()
        reader = self.mount(name='ra', errors=True, args=[
            '--cache', '--lease', '2', '--lock-timeout', '40',
            '--metrics', '127.0.0.1:%d' % port])
        path = os.path.join(reader.mountpoint, 'g', 'b')
        fd = os.open(path, os.O_RDONLY)  # a reader, pinned to the hold
        self.addCleanup(os.close, fd)
        self.assertEqual(os.pread(fd, 1 << 10, 0), B.tobytes())
        drops = metric(port, 'h5swmrfs_cache_drops_total')
        os.kill(self.redis.proc.pid, signal.SIGSTOP)
        try:
            began = time.monotonic()
            for _ in harness.deadline_loop(8):
                if metric(port, 'h5swmrfs_cache_drops_total') > drops:
                    break
            waited = time.monotonic() - began
            self.assertGreater(metric(port, 'h5swmrfs_cache_drops_total'), drops,
                               'no drop while the lease was in doubt')
            print('  dropped %.2f s after redis stopped (lease 2 s)' % waited)
        finally:
            os.kill(self.redis.proc.pid, signal.SIGCONT)
        # Nothing changed: the reader goes on with a new hold.
        self.assertEqual(os.pread(fd, 1 << 10, 0), B.tobytes())


class Uncached(wh.WriteTestCase):

    def test_no_cache_sends_every_read_to_the_daemon(self):
        self.make_file(build)
        port = harness.free_port()
        mount = self.mount(args=['--cache', '--no-cache', '--metrics',  # the last one counts
                                 '127.0.0.1:%d' % port])
        path = os.path.join(mount.mountpoint, 'g', 'a')
        self.assertEqual(self.read_in_process(path), A.tobytes())
        for _ in harness.deadline_loop(5):  # counted just after the answer
            if read_requests(port) > 0:
                break
        first = read_requests(port)
        self.assertEqual(self.read_in_process(path), A.tobytes())
        for _ in harness.deadline_loop(5):
            if read_requests(port) > first:
                break
        self.assertGreater(read_requests(port), first)
        with open(path, 'rb') as f:  # direct_io: no mapping of a shared page cache
            with self.assertRaises(OSError):
                mmap.mmap(f.fileno(), 0, prot=mmap.PROT_READ)


if __name__ == '__main__':
    wh.main()
