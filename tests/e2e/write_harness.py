"""Support for the mounted write tests (SPEC.md section 5).

Every test method builds its own small HDF5 file with h5py, mounts it (one
redis-server per test class), changes it with ordinary tools (cp, dd, cat,
mv, setfattr, ...) and then checks the file itself:

- while mounted, with h5py under a shared hold of the file's lock taken by
  `h5swmrfs-ctl run --shared` (what any other program must see once
  close() has returned), and
- after the unmount (a cleanup of every test): the daemon exited 0 and
  logged no error it was not told to expect, and `h5dump` of the file
  exits 0.

The tests need the daemon; with H5SWMRFS_E2E_SELFTEST=1 they skip.
"""

import contextlib
import errno
import glob
import hashlib
import json
import os
import re
import shutil
import signal
import subprocess
import tempfile
import unittest

import harness  # sets the HDF5 environment before h5py is imported

import h5py
import numpy as np

H5DUMP_TIMEOUT = 60  # seconds
LOCK_TIMEOUT = 20  # seconds h5swmrfs-ctl waits for the shared hold

# The message strerror gives, as tools print it.
MESSAGE = {
    errno.EINVAL: 'Invalid argument',
    errno.EFBIG: 'File too large',
    errno.ENOSPC: 'No space left on device',
    errno.EROFS: 'Read-only file system',
    errno.ENOTEMPTY: 'Directory not empty',
    errno.EEXIST: 'File exists',
    errno.EISDIR: 'Is a directory',
    errno.ENOTDIR: 'Not a directory',
    errno.ENOENT: 'No such file or directory',
    errno.ENODATA: 'No such attribute',  # what setfattr/getfattr print
    errno.EPERM: 'Operation not permitted',
    errno.EACCES: 'Permission denied',
    errno.EOPNOTSUPP: 'Operation not supported',
}

# The daemon's own error lines ("h5swmrfs[PID] error: ..."); HDF5-DIAG
# lines stay unexpected even in tests that provoke errors.
DAEMON_ERROR_LINE = r'^h5swmrfs\[\d+\] error: '

# Its warning lines: how it logs input it refused (EINVAL and the like).
DAEMON_WARNING_LINE = r'^h5swmrfs\[\d+\] warning: '


def warning_lines(mount):
    """The daemon's warning lines so far, oldest first."""
    return [line for line in mount.log_text().splitlines()
            if re.match(DAEMON_WARNING_LINE, line)]


def ctl_path():
    """h5swmrfs-ctl next to the daemon under test."""
    if os.environ.get('H5SWMRFS_CTL'):
        return os.environ['H5SWMRFS_CTL']
    daemon = harness.daemon_path()
    build = os.path.dirname(os.path.dirname(os.path.dirname(daemon)))
    for candidate in [os.path.join(build, 'tools', 'ctl', 'h5swmrfs-ctl')] + \
            glob.glob(os.path.join(build, '**', 'h5swmrfs-ctl'),
                      recursive=True):
        if os.path.isfile(candidate) and os.access(candidate, os.X_OK):
            return candidate
    raise harness.HarnessError('no h5swmrfs-ctl in ' + build)


SNAPSHOT_LIMIT = 64 << 20  # bytes of a dataset held in a snapshot
DIGEST_LIMIT = 1 << 30    # bytes of a dataset read for its digest


def big_digest(ds):
    """sha256 of a big dataset's bytes, read in pieces along axis 0; a
    dataset beyond DIGEST_LIMIT (something went wrong) only by shape."""
    nbytes = ds.size * ds.dtype.itemsize
    if nbytes > DIGEST_LIMIT or ds.ndim == 0:
        return 'not read: %d bytes' % nbytes
    digest = hashlib.sha256()
    row = max(1, nbytes // ds.shape[0])
    step = max(1, (16 << 20) // row)
    for i in range(0, ds.shape[0], step):
        digest.update(np.ascontiguousarray(ds[i:i + step]).tobytes())
    return 'sha256 ' + digest.hexdigest()


def snapshot(f):
    """{HDF5 path: description} of every link, dataset value and
    attribute of an open h5py file, to compare before and after."""
    out = {}

    def attrs(obj):
        return {name: repr(obj.attrs[name]) for name in obj.attrs}

    out['/'] = ('group', attrs(f))

    def visit(group, prefix):
        for name in group:
            path = prefix + (name if isinstance(name, str)
                             else name.decode('utf-8', 'surrogateescape'))
            link = group.get(name, getlink=True)
            if isinstance(link, h5py.SoftLink):
                out[path] = ('soft', link.path)
                continue
            if isinstance(link, h5py.ExternalLink):
                out[path] = ('external', link.filename, link.path)
                continue
            obj = group[name]
            if isinstance(obj, h5py.Group):
                out[path] = ('group', attrs(obj))
                visit(obj, path + '/')
            elif isinstance(obj, h5py.Dataset):
                if obj.size * obj.dtype.itemsize > SNAPSHOT_LIMIT:
                    # too big to hold: its digest, read in pieces
                    value = big_digest(obj)
                else:
                    data = obj[()]
                    value = np.asarray(data).tobytes() \
                        if obj.dtype.kind != 'O' else repr(data)
                out[path] = ('dataset', obj.dtype.str, obj.shape,
                             obj.maxshape, value, attrs(obj))
            else:
                out[path] = ('other',)

    visit(f, '/')
    return out


class WriteTestCase(unittest.TestCase):
    """One redis per class; per test: a temp dir, files, mounts.

    self.make_file(build) makes the HDF5 file (build(f) fills it, f an
    h5py.File open for writing); self.mount() mounts it and registers the
    unmount and the final h5dump check as cleanups.
    """

    H5DUMP_ARGS = ()  # e.g. ('-H',) for files too big to dump

    @classmethod
    def setUpClass(cls):
        if harness.SELFTEST:
            raise unittest.SkipTest('the write tests need the daemon')
        harness.require_host()
        cls.ctl = ctl_path()  # before redis starts: a class that fails here leaves nothing running
        cls.redis = harness.Redis().start()
        cls.forget_redis = on_termination(cls.redis.stop)

    @classmethod
    def tearDownClass(cls):
        cls.forget_redis()
        cls.redis.stop()

    def setUp(self):
        self.tmp = tempfile.mkdtemp(prefix='h5swmrfs-e2e-w-')
        self.addCleanup(shutil.rmtree, self.tmp, ignore_errors=True)
        self.addCleanup(on_termination(
            lambda: shutil.rmtree(self.tmp, ignore_errors=True)))
        self.mounts = []
        self.h5path = None
        self.mnt = None

    # -- files and mounts -------------------------------------------------

    def make_file(self, build=None, path=None):
        """Make the HDF5 file (default TMP/file.h5); checked with h5dump
        after every mount of it has stopped."""
        path = path or os.path.join(self.tmp, 'file.h5')
        with h5py.File(path, 'w', track_order=False) as f:
            if build is not None:
                build(f)
        if self.h5path is None:
            self.h5path = path
        self.addCleanup(self.check_h5dump, path)
        return path

    def mount(self, args=(), name='mnt', errors=False, h5path=None):
        """Mount the file at TMP/name; errors=True lets the daemon log
        its own error lines (tests that provoke errors)."""
        h5path = h5path or self.h5path
        mnt = os.path.join(self.tmp, name)
        os.makedirs(mnt, exist_ok=True)
        mount = harness.Mount(h5path, mnt, self.redis.url(), args=args,
                              expected_errors=[DAEMON_ERROR_LINE]
                              if errors else [],
                              log_path=os.path.join(self.tmp, name + '.log'))
        mount.start()
        self.mounts.append(mount)
        self.addCleanup(on_termination(
            lambda: mount.stop(check_status=False)))
        self.addCleanup(self.unmount, mount)
        if self.mnt is None:
            self.mnt = mnt
        return mount

    def unmount(self, mount):
        """Unmount (idempotent); fail on any daemon problem."""
        if mount.proc is None:
            return
        problems = mount.stop()
        if problems:
            self.fail('daemon problems:\n  ' + '\n  '.join(problems)
                      + '\n--- daemon log ---\n' + mount.log_text())

    def unmount_all(self):
        for mount in reversed(self.mounts):
            self.unmount(mount)

    def check_h5dump(self, path):
        if not os.path.exists(path):
            return
        try:
            result = subprocess.run(['h5dump'] + list(self.H5DUMP_ARGS)
                                    + [path], stdin=subprocess.DEVNULL,
                                    stdout=subprocess.DEVNULL,
                                    stderr=subprocess.PIPE,
                                    timeout=H5DUMP_TIMEOUT)
        except subprocess.TimeoutExpired:
            self.fail('h5dump %s did not finish within %ds' % (
                path, H5DUMP_TIMEOUT))
        self.assertEqual(result.returncode, 0,
                         'h5dump %s: %s' % (path, result.stderr.decode(
                             'utf-8', 'replace')[-2000:]))

    def p(self, *parts, mnt=None):
        """Path in the (first) mount."""
        return os.path.join(mnt or self.mnt, *parts)

    def src(self, name, data):
        """Write data (bytes) to a plain source file TMP/src/name."""
        d = os.path.join(self.tmp, 'src')
        os.makedirs(d, exist_ok=True)
        path = os.path.join(d, name)
        with open(path, 'wb') as out:
            out.write(data)
        return path

    # -- looking at the file ----------------------------------------------

    @contextlib.contextmanager
    def exclusive_hold(self, h5path=None):
        """Hold the file's lock exclusively (h5swmrfs-ctl run --exclusive)
        while the body runs."""
        with self._ctl_hold('--exclusive', h5path or self.h5path):
            yield

    @contextlib.contextmanager
    def shared_hold(self, h5path=None):
        """Hold the file's lock shared (h5swmrfs-ctl run --shared) while
        the body runs; a no-op when nothing is mounted."""
        h5path = h5path or self.h5path
        if not any(m.proc is not None for m in self.mounts):
            yield
            return
        with self._ctl_hold('--shared', h5path):
            yield

    @contextlib.contextmanager
    def _ctl_hold(self, mode, h5path):
        proc = subprocess.Popen(
            [self.ctl, '--redis', self.redis.url(), '--lock-timeout',
             str(LOCK_TIMEOUT), 'run', mode, h5path, '--',
             '/bin/sh', '-c', 'echo held; read line'],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE,
            stderr=subprocess.PIPE)
        try:
            # Bounded by --lock-timeout: ctl exits (EOF) if it gets no hold.
            line = proc.stdout.readline()
            if line != b'held\n':
                proc.wait(10)
                raise harness.HarnessError(
                    'h5swmrfs-ctl run %s: no hold (status %s): %s' % (
                        mode, proc.returncode, proc.stderr.read().decode()))
            yield
        finally:
            try:
                proc.stdin.write(b'\n')
                proc.stdin.close()
            except OSError:
                pass
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:
                harness._stop_pid(proc)
            proc.stdout.close()
            proc.stderr.close()

    @contextlib.contextmanager
    def h5(self, h5path=None):
        """The file opened with h5py, under a shared hold of its lock."""
        h5path = h5path or self.h5path
        with self.shared_hold(h5path):
            with h5py.File(h5path, 'r') as f:
                yield f

    def snapshot(self, h5path=None):
        with self.h5(h5path) as f:
            return snapshot(f)

    def assert_unchanged(self, before, h5path=None):
        after = self.snapshot(h5path)
        if after == before:
            return
        changed = sorted(k for k in set(before) | set(after)
                         if before.get(k) != after.get(k))
        self.fail('the file changed at %s:\n%s' % (', '.join(changed), '\n'.join(
            '  %s: before %.300r\n     after  %.300r' % (
                k, before.get(k), after.get(k)) for k in changed)))

    # -- running tools ----------------------------------------------------

    def run_tool(self, *args, **kwargs):
        """Run a command (bytes stdout, text stderr), 120 s at most
        unless timeout= says otherwise."""
        kwargs.setdefault('timeout', 120)
        result = subprocess.run([a if isinstance(a, (str, bytes)) else str(a)
                                 for a in args], stdin=subprocess.DEVNULL,
                                capture_output=True, **kwargs)
        result.stderr = result.stderr.decode('utf-8', 'replace')
        return result

    def lock_status(self):
        """`h5swmrfs-ctl status --json` of the file's lock."""
        out = subprocess.run([self.ctl, '--redis', self.redis.url(), 'status',
                              '--json', self.h5path],
                             capture_output=True, text=True, timeout=30)
        self.assertEqual(out.returncode, 0, out.stderr)
        return json.loads(out.stdout)

    def sh(self, script, *args):
        """Run a shell script; args are $1, $2, ..."""
        return self.run_tool('/bin/sh', '-c', script, 'sh', *args)

    def assert_ok(self, result, what=None):
        """Exit 0 and nothing on stderr."""
        if (result.returncode, result.stderr) != (0, ''):
            self.fail('%s: exit status %d, stderr:\n%s' % (
                what or ' '.join(map(repr, result.args)), result.returncode,
                result.stderr))

    def assert_only_early_close_refused(self, result, what=None):
        """Exit 0, and nothing on stderr but a command's close refused with
        EINVAL: a process that shares an open file with others and closes
        while what is staged could not be committed as it stands is told so
        (README, Writing); the content still lands at the last close."""
        lines = [l for l in result.stderr.splitlines()
                 if not l.endswith(MESSAGE[errno.EINVAL])]
        if result.returncode != 0 or lines:
            self.fail('%s: exit status %d, stderr:\n%s' % (
                what or ' '.join(map(repr, result.args)), result.returncode,
                result.stderr))

    def assert_fails(self, result, *errnos, what=None):
        """Non-zero exit and stderr names one of errnos' messages."""
        what = what or ' '.join(map(str, result.args))
        self.assertNotEqual(result.returncode, 0,
                            '%s succeeded; want %s' % (
                                what, ' or '.join(MESSAGE[e] for e in errnos)))
        if errnos:
            self.assertTrue(
                any(MESSAGE[e] in result.stderr for e in errnos),
                '%s: stderr %r names none of %s' % (
                    what, result.stderr,
                    [MESSAGE[e] for e in errnos]))

    def assert_errno(self, call, *errnos):
        """call() raises OSError with one of errnos."""
        try:
            call()
        except OSError as e:
            self.assertIn(e.errno, errnos, 'got %s, want %s' % (
                e, ' or '.join(errno.errorcode[n] for n in errnos)))
            return e
        self.fail('no error; want %s' % ' or '.join(errno.errorcode[n]
                                                     for n in errnos))

    def cat(self, path):
        result = self.run_tool('cat', path)
        self.assert_ok(result)
        return result.stdout

    def read_in_process(self, path):
        """The whole file read with open/read/close in this process: no
        fork, so no descriptor of ours is closed by a child."""
        fd = os.open(path, os.O_RDONLY)
        try:
            chunks = []
            while True:
                chunk = os.read(fd, 1 << 20)
                if not chunk:
                    return b''.join(chunks)
                chunks.append(chunk)
        finally:
            os.close(fd)

    def xattr(self, path, name):
        return os.getxattr(path, name).decode('utf-8')

    def write_fd(self, path, data, flags=os.O_WRONLY | os.O_TRUNC,
                 pieces=1, offset=None, before_close=None):
        """open/write/close with raw syscalls, before_close() run just
        before the close; returns the errno of close() (0 if it worked).
        Writes must not fail."""
        fd = os.open(path, flags, 0o644)
        try:
            if offset is not None:
                os.lseek(fd, offset, os.SEEK_SET)
            step = max(1, -(-len(data) // pieces))
            for i in range(0, len(data), step):
                chunk = data[i:i + step]
                self.assertEqual(os.write(fd, chunk), len(chunk))
            if before_close is not None:
                before_close()
        except BaseException:
            os.close(fd)
            raise
        try:
            os.close(fd)
        except OSError as e:
            return e.errno
        return 0


def native_bytes(array):
    """Bytes of an array in this host's byte order, C order."""
    array = np.ascontiguousarray(array)
    return array.astype(array.dtype.newbyteorder('=')).tobytes()


# Cleanups that must run even when the test runner is terminated (meson's
# timeout sends SIGTERM): unmounts of the daemon, of tmpfs and bind mounts.
_EMERGENCY = []


def on_termination(action):
    """Register action() to run if the process gets SIGTERM or SIGINT;
    returns a function that unregisters it."""
    _EMERGENCY.append(action)

    def forget():
        if action in _EMERGENCY:
            _EMERGENCY.remove(action)
    return forget


def _terminate(signum, _frame):
    while _EMERGENCY:
        action = _EMERGENCY.pop()
        try:
            action()
        except Exception:  # noqa: BLE001  best effort on the way out
            pass
    os._exit(128 + signum)


def main():
    signal.signal(signal.SIGTERM, _terminate)
    signal.signal(signal.SIGINT, _terminate)
    harness.main()


def native(dtype):
    """dtype in this host's byte order (fields too, offsets kept)."""
    return dtype.newbyteorder('=')
