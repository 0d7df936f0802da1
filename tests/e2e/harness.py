"""Mounted end-to-end test harness: a private redis, the daemon in the
foreground, the mount's life, and the daemon log check (after sshfs's
tests: wait for the mount, check the daemon is alive, fail a test whose
daemon log shows an error it did not expect).

The daemon binary comes from $H5SWMRFS (set by tests/e2e/meson.build), else
build*/src/cli/h5swmrfs next to this tree; the control tool likewise from
$H5SWMRFS_CTL, else build*/tools/ctl/h5swmrfs-ctl.
"""

import contextlib
import glob
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import unittest

# The tests read the zoo with h5py while the daemon has it open; HDF5's own
# file locks must not make the two exclude each other. External raw data
# files are named relative to the HDF5 file (the daemon runs in / and must
# find them there too). The daemon gets the environment as it was.
DAEMON_ENV = dict(os.environ)
os.environ['HDF5_USE_FILE_LOCKING'] = 'FALSE'
os.environ['HDF5_EXTFILE_PREFIX'] = '${ORIGIN}'

import h5py  # noqa: E402  (must see the variable above)

import expect  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
SOURCE_ROOT = os.path.dirname(os.path.dirname(HERE))
PYTHON = '/usr/bin/python3'

MOUNT_TIMEOUT = 20.0     # seconds for the mount to appear
EXIT_TIMEOUT = 20.0      # seconds for the daemon to exit after unmount
REDIS_TIMEOUT = 10.0
POLL = 0.02              # poll interval of the deadline loops
SELFTEST = os.environ.get('H5SWMRFS_E2E_SELFTEST') == '1'

# A daemon log line that reports an error (sshfs's tests look for the
# first); HDF5's own error stack printing must be off in every thread.
ERROR_LINE = re.compile(r'error:|^HDF5-DIAG', re.IGNORECASE)


class HarnessError(Exception):
    pass


def _built_program(env_var, build_path, name):
    """The program named by env_var, else the newest build*/build_path."""
    path = os.environ.get(env_var)
    if path:
        return path
    found = sorted(glob.glob(os.path.join(SOURCE_ROOT, 'build*', build_path)),
                   key=os.path.getmtime)
    if not found:
        raise HarnessError('no %s: set %s or build it' % (name, env_var))
    return found[-1]


def daemon_path():
    return _built_program('H5SWMRFS', 'src/cli/h5swmrfs', 'daemon')


def ctl_path():
    return _built_program('H5SWMRFS_CTL', 'tools/ctl/h5swmrfs-ctl',
                          'h5swmrfs-ctl')


def require_host():
    """Raises when this host cannot run mounted tests: they fail rather than
    skip (the test command installs what they need; a skip would hide that)."""
    if not os.path.exists('/dev/fuse'):
        raise RuntimeError('/dev/fuse is missing')
    for tool in ('fusermount3', 'redis-server'):
        if shutil.which(tool) is None:
            raise RuntimeError(tool + ' is missing')


def _unescape_mountinfo(field):
    return re.sub(r'\\([0-7]{3})', lambda m: chr(int(m.group(1), 8)), field)


def mount_entry(mountpoint):
    """The /proc/self/mountinfo fields of the mount at mountpoint, or None."""
    target = os.path.realpath(mountpoint)
    with open('/proc/self/mountinfo') as info:
        for line in info:
            fields = line.split()
            if _unescape_mountinfo(fields[4]) == target:
                return fields
    return None


def is_mounted(mountpoint):
    return mount_entry(mountpoint) is not None


def free_port():
    with socket.socket() as sock:
        sock.bind(('127.0.0.1', 0))
        return sock.getsockname()[1]


def deadline_loop(timeout, pause=POLL):
    """Yield until timeout seconds have passed, pausing `pause` between."""
    deadline = time.monotonic() + timeout
    while True:
        yield
        if time.monotonic() > deadline:
            return
        time.sleep(pause)


def _stop_pid(proc, timeout=10.0):
    """Terminate a child we started, by its PID only; SIGKILL if it hangs."""
    if proc.poll() is not None:
        return proc.returncode
    proc.send_signal(signal.SIGTERM)
    try:
        return proc.wait(timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        return proc.wait()


def run_daemon_to_exit(args, mountpoint, timeout=15.0):
    """Runs the daemon in the foreground with args (FILE and MOUNTPOINT
    included) and waits for it to exit, as a refused startup does.
    Returns (status, stdout, stderr) as text; status is None when it was
    still running after timeout (it is then unmounted and stopped by its
    PID)."""
    proc = subprocess.Popen([daemon_path(), '-f'] + list(args),
                            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, cwd='/', env=DAEMON_ENV)
    try:
        stdout, stderr = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        if is_mounted(mountpoint):
            subprocess.run(['fusermount3', '-u', mountpoint])
        _stop_pid(proc)
        stdout, stderr = proc.communicate()
        status = None
    else:
        status = proc.returncode
    return (status, stdout.decode('utf-8', 'replace'),
            stderr.decode('utf-8', 'replace'))


class Redis:
    """A private redis-server on 127.0.0.1, no persistence, own temp dir."""

    def __init__(self, password=None):
        self.password = password
        self.proc = None
        self.dir = None
        self.port = None

    def url(self, db=0, password=None):
        password = self.password if password is None else password
        auth = ':%s@' % password if password else ''
        return 'redis://%s127.0.0.1:%d/%d' % (auth, self.port, db)

    def _spawn(self):
        args = ['redis-server', '--port', str(self.port),
                '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no',
                '--dir', self.dir, '--daemonize', 'no',
                '--logfile', os.path.join(self.dir, 'redis.log')]
        if self.password:
            args += ['--requirepass', self.password]
        self.proc = subprocess.Popen(args, stdin=subprocess.DEVNULL,
                                     stdout=subprocess.DEVNULL)
        if self._wait_ready():
            return True
        _stop_pid(self.proc)
        self.proc = None
        return False

    def start(self):
        self.dir = tempfile.mkdtemp(prefix='h5swmrfs-e2e-redis-')
        for _ in range(5):  # the free port may be taken before we bind it
            self.port = free_port()
            if self._spawn():
                return self
        raise HarnessError('redis-server did not start; see %s'
                           % os.path.join(self.dir, 'redis.log'))

    def pause_server(self):
        """Stop the server process (by its PID), keeping port and dir for
        resume_server(). Without persistence, every key is gone."""
        if self.proc is not None:
            _stop_pid(self.proc)
            self.proc = None

    def resume_server(self):
        """Start the server again on the same port after pause_server()."""
        if self.proc is None and not self._spawn():
            raise HarnessError('redis-server did not restart on port %d; '
                               'see %s' % (self.port, os.path.join(
                                   self.dir, 'redis.log')))
        return self

    def _wait_ready(self):
        for _ in deadline_loop(REDIS_TIMEOUT):
            if self.proc.poll() is not None:
                return False
            try:
                with socket.create_connection(('127.0.0.1', self.port),
                                              timeout=1) as conn:
                    conn.sendall(b'PING\r\n')
                    reply = conn.recv(64)
                    if reply.startswith((b'+PONG', b'-NOAUTH')):
                        return True
            except OSError:
                pass
        return False

    def stop(self):
        if self.proc is not None:
            _stop_pid(self.proc)
            self.proc = None
        if self.dir is not None:
            shutil.rmtree(self.dir, ignore_errors=True)
            self.dir = None

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()


class Mount:
    """The daemon run in the foreground on (h5file, mountpoint); redis_url
    None passes no --redis (e.g. with --lock local).

    start() returns once the mount is in /proc/self/mountinfo, or raises
    with the daemon's log if it exited first. stop() unmounts with
    fusermount3 -u, waits for the daemon to exit, and returns the problems
    found: a non-zero exit status, a hang, and every log line matching
    ERROR_LINE that no pattern of expected_errors matches.
    """

    def __init__(self, h5file, mountpoint, redis_url, args=(),
                 expected_errors=(), log_path=None, cwd='/'):
        self.h5file = h5file
        self.mountpoint = mountpoint
        self.redis_url = redis_url
        self.args = list(args)
        self.expected_errors = [re.compile(p) for p in expected_errors]
        self.log_path = log_path or (mountpoint.rstrip('/') + '.log')
        self.cwd = cwd  # the daemon's working directory (relative paths)
        self.proc = None
        self.log = None

    def command(self):
        redis = ['--redis', self.redis_url] if self.redis_url else []
        return [daemon_path(), '-f'] + redis + \
            self.args + [self.h5file, self.mountpoint]

    def start(self):
        self.log = open(self.log_path, 'wb')
        self.proc = subprocess.Popen(self.command(), stdin=subprocess.DEVNULL,
                                     stdout=self.log, stderr=self.log,
                                     env=DAEMON_ENV, cwd=self.cwd)
        for _ in deadline_loop(MOUNT_TIMEOUT):
            if is_mounted(self.mountpoint):
                return self
            if self.proc.poll() is not None:
                raise HarnessError(
                    'daemon exited with status %d before mounting:\n%s'
                    % (self.proc.returncode, self.log_text()))
        problems = self.stop()
        raise HarnessError('mount did not appear within %gs (%s):\n%s'
                           % (MOUNT_TIMEOUT, '; '.join(problems),
                              self.log_text()))

    def log_text(self):
        with open(self.log_path, 'rb') as log:
            return log.read().decode('utf-8', 'replace')

    def unexpected_errors(self):
        return [line for line in self.log_text().splitlines()
                if ERROR_LINE.search(line)
                and not any(p.search(line) for p in self.expected_errors)]

    def stop(self, check_status=True):
        problems = []
        if self.proc is None:
            return problems
        for _ in deadline_loop(10.0):
            if not is_mounted(self.mountpoint) or self.proc.poll() is not None:
                break
            result = subprocess.run(['fusermount3', '-u', self.mountpoint],
                                    capture_output=True, text=True)
            if result.returncode == 0:
                break
        try:
            status = self.proc.wait(EXIT_TIMEOUT)
            if status != 0 and check_status:
                # A sanitizer's report (its exit status) is in the log, which goes with the test's files.
                tail = self.log_text().splitlines()[-60:]
                problems.append('daemon exited with status %d after unmount; its log ends:\n    %s'
                                % (status, '\n    '.join(tail)))
        except subprocess.TimeoutExpired:
            problems.append('daemon did not exit within %gs of unmount; '
                            'killed' % EXIT_TIMEOUT)
            _stop_pid(self.proc)
        if is_mounted(self.mountpoint):
            problems.append('still mounted after the daemon exited')
            subprocess.run(['fusermount3', '-uz', self.mountpoint],
                           capture_output=True)
        problems += ['unexpected daemon log line: ' + line
                     for line in self.unexpected_errors()]
        self.proc = None
        self.log.close()
        return problems


class DaemonTestCase(unittest.TestCase):
    """What the tests of a class that start their own daemons share: a
    temporary directory (cls.tmp), a private redis (cls.redis, asking for
    REDIS_PASSWORD when set) and the zoo file (cls.zoo). Subclasses that add
    to setUpClass call it first."""

    REDIS_PASSWORD = None

    @classmethod
    def setUpClass(cls):
        if SELFTEST:
            raise unittest.SkipTest('needs the daemon')
        require_host()
        cls.tmpdir = tempfile.TemporaryDirectory(prefix='h5swmrfs-e2e-')
        cls.tmp = cls.tmpdir.name
        cls.redis = Redis(password=cls.REDIS_PASSWORD).start()
        cls.zoo = os.path.join(cls.tmp, 'zoo.h5')
        make_zoo(cls.zoo)

    @classmethod
    def tearDownClass(cls):
        cls.redis.stop()
        cls.tmpdir.cleanup()


class MountedTestCase(unittest.TestCase):
    """One file, one redis and one mount shared by the tests of a class;
    cls.h5 is the same file opened with h5py, cls.entries its links
    (expect.walk).

    Set ZOO_BIG to build the zoo with its 256 MiB dataset, MOUNT_ARGS for
    extra daemon options, EXPECTED_ERRORS for daemon log lines that are
    part of the test; override make_file to mount another file.

    With H5SWMRFS_E2E_SELFTEST=1 no daemon runs: fake_mount.py writes what
    the mount must show into a plain directory, to check the tests
    themselves.
    """

    ZOO_BIG = False
    MOUNT_ARGS = ()
    EXPECTED_ERRORS = ()

    @classmethod
    def make_file(cls, path):
        make_zoo(path, big=cls.ZOO_BIG)

    @classmethod
    def setUpClass(cls):
        if not SELFTEST:
            require_host()
        cls._stack = contextlib.ExitStack()
        try:
            cls.tmp = cls._stack.enter_context(
                tempfile.TemporaryDirectory(prefix='h5swmrfs-e2e-'))
            cls.h5path = os.path.join(cls.tmp, 'file.h5')
            cls.make_file(cls.h5path)
            cls.h5 = cls._stack.enter_context(h5py.File(cls.h5path, 'r'))
            cls.entries = expect.walk(cls.h5)
            cls.mnt = os.path.join(cls.tmp, 'mnt')
            os.mkdir(cls.mnt)
            if SELFTEST:
                import fake_mount
                cls.mount = fake_mount.FakeMount(cls.entries, cls.mnt,
                                                 cls.MOUNT_ARGS)
            else:
                cls.redis = cls._stack.enter_context(Redis())
                cls.mount = Mount(cls.h5path, cls.mnt, cls.redis.url(),
                                  args=cls.MOUNT_ARGS,
                                  expected_errors=cls.EXPECTED_ERRORS)
            cls.mount.start()
        except BaseException:
            cls._stack.close()
            raise

    @classmethod
    def tearDownClass(cls):
        try:
            problems = cls.mount.stop()
            if problems:
                raise AssertionError('daemon problems:\n  '
                                     + '\n  '.join(problems)
                                     + '\n--- daemon log ---\n'
                                     + cls.mount.log_text())
        finally:
            cls._stack.close()

    def path(self, h5path):
        """The mounted path of an HDF5 path."""
        return os.path.join(self.mnt, h5path.lstrip('/'))

    def of_kind(self, *kinds):
        return [e for e in self.entries if e.kind in kinds]


def make_zoo(out, big=False):
    args = [PYTHON, os.path.join(HERE, 'make_zoo.py'), out]
    if big:
        args.append('--big')
    subprocess.run(args, check=True)


def run(args, **kwargs):
    """Run a command, capturing bytes stdout and text stderr."""
    result = subprocess.run(args, stdin=subprocess.DEVNULL,
                            capture_output=True, timeout=120, **kwargs)
    result.stderr = result.stderr.decode('utf-8', 'replace')
    return result


def describe_bytes_difference(expected, got, itemsize=1, mask=None, base=0,
                              context=16):
    """A readable account of where two byte strings differ, or None.

    base is the offset of both strings in the dataset's bytes; mask (which
    bytes of one element count) hides padding from the comparison.
    """
    head = None
    if len(expected) != len(got):
        head = 'length: expected %d bytes, got %d' % (len(expected), len(got))
    n = min(len(expected), len(got))
    first = None
    for i in range(n):
        if expected[i] != got[i] and \
                (mask is None or mask[(base + i) % itemsize]):
            first = i
            break
    if first is None:
        return head
    lo = max(0, first - context)
    hi = min(n, first + context)
    at = base + first
    lines = [head] if head else []
    lines.append('first difference at byte %d (element %d, byte %d of it)'
                 % (at, at // itemsize, at % itemsize))
    lines.append('  expected[%d:%d] %s' % (base + lo, base + hi,
                                           expected[lo:hi].hex(' ')))
    lines.append('  got     [%d:%d] %s' % (base + lo, base + hi,
                                           got[lo:hi].hex(' ')))
    return '\n'.join(lines)


def main():
    """Run the module's tests; exit 1 on any failure (or none run)."""
    if not SELFTEST:
        require_host()
    program = unittest.main(module='__main__', exit=False, verbosity=2)
    result = program.result
    sys.exit(0 if result.wasSuccessful() and result.testsRun else 1)
