"""What the stress tool starts and must clean up: network namespaces, a
tmpfs, redis, the daemons; every piece registers its clean-up on a Cleanup
stack that runs in reverse order, also on failure and on signals.

Processes are only ever signalled by the PID we started them with.
"""

import glob
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import threading
import time

POLL = 0.02


class SetupError(Exception):
    pass


def deadline_loop(timeout, pause=POLL):
    end = time.monotonic() + timeout
    while True:
        yield
        if time.monotonic() > end:
            return
        time.sleep(pause)


class Cleanup:
    """A stack of (what, fn); run() calls them newest first, each once,
    reporting (not raising) what failed."""

    def __init__(self):
        self._stack = []
        self._lock = threading.Lock()

    def push(self, what, fn, *args):
        with self._lock:
            self._stack.append((what, fn, args))

    def run(self, log=print):
        problems = []
        while True:
            with self._lock:
                if not self._stack:
                    break
                what, fn, args = self._stack.pop()
            try:
                fn(*args)
            except BaseException as e:  # noqa: BLE001 keep cleaning
                problems.append('%s: %r' % (what, e))
                log('cleanup of %s failed: %r' % (what, e))
        return problems


def stop_pid(proc, timeout=10.0, sig=signal.SIGTERM):
    """End a child we started, by its PID; SIGKILL if it does not go."""
    if proc is None or proc.poll() is not None:
        return None if proc is None else proc.returncode
    try:
        proc.send_signal(sig)
        if proc.poll() is None and sig != signal.SIGKILL:
            # a stopped child cannot act on SIGTERM
            proc.send_signal(signal.SIGCONT)
        return proc.wait(timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        return proc.wait()


# -- binaries ----------------------------------------------------------------

def find_binary(env_var, pattern, root):
    path = os.environ.get(env_var)
    if path:
        return path
    found = sorted(glob.glob(os.path.join(root, pattern)),
                   key=os.path.getmtime)
    if not found:
        raise SetupError('no %s: set %s or build the tree' % (pattern,
                                                               env_var))
    return found[-1]


# -- mounts -------------------------------------------------------------------

def _unescape(field):
    return re.sub(r'\\([0-7]{3})', lambda m: chr(int(m.group(1), 8)), field)


def is_mounted(path):
    target = os.path.realpath(path)
    with open('/proc/self/mountinfo') as info:
        for line in info:
            if _unescape(line.split()[4]) == target:
                return True
    return False


def lazy_unmount(path):
    subprocess.run(['fusermount3', '-u', '-z', path], capture_output=True)


def fuse_connection(path):
    """The number of the FUSE connection mounted at path (the minor of the
    mount's device in /proc/self/mountinfo: no call into the mount, which
    may hang), or None."""
    target = os.path.realpath(path)
    found = None
    with open('/proc/self/mountinfo') as info:
        for line in info:
            fields = line.split()
            if _unescape(fields[4]) == target:
                found = int(fields[2].split(':')[1])
    return found


FUSECTL = '/sys/fs/fuse/connections'
_fusectl_mounted = []


def abort_fuse_connection(conn):
    """Ends FUSE connection conn as the death of its daemon would: every
    request waiting for an answer fails with ENOTCONN. True when done."""
    if not os.path.isdir(os.path.join(FUSECTL, str(conn))):
        r = subprocess.run(['mount', '-t', 'fusectl', 'fusectl', FUSECTL],
                           capture_output=True)
        if r.returncode == 0:
            _fusectl_mounted.append(FUSECTL)
    try:
        with open(os.path.join(FUSECTL, str(conn), 'abort'), 'w') as f:
            f.write('1')
        return True
    except OSError:
        return False


def unmount_fusectl():
    """Undoes the mount of the FUSE control filesystem, if this run made
    it."""
    while _fusectl_mounted:
        subprocess.run(['umount', _fusectl_mounted.pop()], capture_output=True)


def thread_states(pid):
    """[(tid, state, innermost kernel functions)] of a process's threads
    that are not zombies: what a process that does not die waits for."""
    out = []
    try:
        tids = sorted(os.listdir('/proc/%d/task' % pid), key=int)
    except OSError:
        return out
    for tid in tids:
        base = '/proc/%d/task/%s/' % (pid, tid)
        try:
            with open(base + 'stat') as f:
                state = f.read().rsplit(')', 1)[1].split()[0]
            with open(base + 'stack') as f:
                stack = [re.sub(r'^\[<[0-9a-f]+>\] |\+0x.*$', '', line.strip())
                         for line in f][:4]
        except OSError:
            continue
        if state != 'Z':
            out.append((int(tid), state, stack))
    return out


class Tmpfs:
    """A tmpfs of size_mb at path (FILE.h5 lives here, so the disk can be
    filled)."""

    def __init__(self, path, size_mb, cleanup):
        self.path = path
        os.makedirs(path, exist_ok=True)
        r = subprocess.run(['mount', '-t', 'tmpfs', '-o',
                            'size=%dm,mode=0755' % size_mb, 'tmpfs', path],
                           capture_output=True, text=True)
        if r.returncode != 0:
            raise SetupError('cannot mount a tmpfs at %s: %s'
                             % (path, r.stderr.strip()))
        cleanup.push('tmpfs ' + path, self.unmount)

    def unmount(self):
        r = subprocess.run(['umount', self.path], capture_output=True,
                           text=True)
        if r.returncode != 0:
            subprocess.run(['umount', '-l', self.path], capture_output=True)

    def free_bytes(self):
        st = os.statvfs(self.path)
        return st.f_bavail * st.f_frsize


# -- network namespaces -------------------------------------------------------

class Netns:
    """Two namespaces A and B joined by a veth pair whose ends are both
    inside them: A has 192.0.2.1/24 (redis and the even mounts), B has
    192.0.2.2/24 (the odd mounts)."""

    ADDR = {'a': '192.0.2.1', 'b': '192.0.2.2'}

    def __init__(self, tag, cleanup):
        self.names = {'a': 'h5stress-%s-a' % tag, 'b': 'h5stress-%s-b' % tag}
        self.cleanup = cleanup
        for side in ('a', 'b'):
            self._ip('netns', 'add', self.names[side])
            cleanup.push('netns ' + self.names[side], self._delete,
                         self.names[side])
        a, b = self.names['a'], self.names['b']
        va, vb = 'h5s%sa' % tag[-8:], 'h5s%sb' % tag[-8:]
        self._ip('-n', a, 'link', 'add', va, 'type', 'veth', 'peer', 'name',
                 vb, 'netns', b)
        for side, dev in (('a', va), ('b', vb)):
            ns = self.names[side]
            self._ip('-n', ns, 'addr', 'add', self.ADDR[side] + '/24', 'dev',
                     dev)
            self._ip('-n', ns, 'link', 'set', dev, 'up')
            self._ip('-n', ns, 'link', 'set', 'lo', 'up')
        self.dev = {'a': va, 'b': vb}

    @staticmethod
    def _ip(*args):
        r = subprocess.run(('ip',) + args, capture_output=True, text=True)
        if r.returncode != 0:
            raise SetupError('ip %s: %s' % (' '.join(args), r.stderr.strip()))

    @staticmethod
    def _delete(name):
        subprocess.run(['ip', 'netns', 'del', name], capture_output=True)

    def prefix(self, side):
        """Run a command in the namespace's network only (nsenter, not `ip
        netns exec`: that makes a private mount namespace, and a FUSE mount
        made in it would not be seen here). nsenter execs: the PID we get is
        the command's."""
        return ['nsenter', '--net=/run/netns/' + self.names[side], '--']


def free_port():
    with socket.socket() as sock:
        sock.bind(('127.0.0.1', 0))
        return sock.getsockname()[1]


# -- redis ---------------------------------------------------------------------

class Redis:
    """A private redis-server with a password; in a namespace when prefix is
    given. It persists every write (appendonly, fsync always), as a lock
    server must (docs/LOCKING.md). The redis-restart faults SIGKILL it and
    start it again on the same address in one of three ways (start's
    `state`): on the same files ('keep': every key back), on an empty data
    directory ('empty': every key lost, as a redis without persistence), or
    from an RDB snapshot taken earlier ('snapshot': the keys as they were
    then, as a redis that reloads an older dump.rdb). Each start that does not
    keep the files gets a data directory of its own."""

    def __init__(self, workdir, password, cleanup, prefix=(), host=None):
        self.base = os.path.join(workdir, 'redis')
        os.makedirs(self.base, exist_ok=True)
        self.dir = None
        self.epoch = 0
        self.password = password
        self.prefix = list(prefix)
        self.host = host or '127.0.0.1'
        self.port = 6379 if prefix else free_port()
        self.proc = None
        self.starts = 0
        self.served = False      # the daemons know the port from then on
        cleanup.push('redis', self.stop)

    def url(self):
        return 'redis://%s:%d/0' % (self.host, self.port)

    def start(self, ready, state='keep', snapshot=None):
        """Start the server; ready() -> bool says when it answers."""
        if self.dir is None or state != 'keep':
            self.epoch += 1
            self.dir = os.path.join(self.base, 'data-%d' % self.epoch)
            os.makedirs(self.dir)
        if state == 'snapshot':
            shutil.copyfile(snapshot, os.path.join(self.dir, 'snapshot.rdb'))
            # redis loads an RDB only with the AOF off; it is switched on
            # again below, once the snapshot is in
            load = ['--appendonly', 'no', '--dbfilename', 'snapshot.rdb']
        else:
            load = ['--appendonly', 'yes']
        for attempt in range(5):
            self.starts += 1
            log = os.path.join(self.base, 'redis-%d.log' % self.starts)
            self.proc = subprocess.Popen(
                self.prefix + ['redis-server', '--port', str(self.port),
                               '--bind', self.host, '--save', ''] + load +
                ['--appendfsync', 'always', '--dir', self.dir,
                 # a snapshot (redis-cli --rdb) without the wait for more
                 # replicas that diskless replication makes by default
                 '--repl-diskless-sync-delay', '0',
                 '--daemonize', 'no', '--requirepass', self.password,
                 '--logfile', log],
                stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                start_new_session=True)
            for _ in deadline_loop(10.0, 0.05):
                if self.proc.poll() is not None:
                    break
                if ready():
                    self.served = True
                    if state == 'snapshot':
                        self._persist_again()
                    return self
            stop_pid(self.proc)
            self.proc = None
            if not self.prefix and not self.served:
                self.port = free_port()
        raise SetupError('redis-server did not start; see %s' % self.base)

    def cli(self, args, timeout=20.0):
        """redis-cli against the server (where it is reachable); the
        CompletedProcess."""
        return subprocess.run(
            self.prefix + ['redis-cli', '-h', self.host, '-p', str(self.port)]
            + list(args), capture_output=True, text=True, timeout=timeout,
            env=dict(os.environ, REDISCLI_AUTH=self.password))

    def snapshot(self, path):
        """An RDB of the server's keys as they are now, written to path
        (`redis-cli --rdb`: the server's own files are left alone)."""
        r = self.cli(['--rdb', path])
        if r.returncode != 0 or not os.path.exists(path):
            raise SetupError('redis-cli --rdb: %s' % (r.stderr.strip() or
                                                      r.stdout.strip()))

    def _persist_again(self):
        """Switch the AOF on after a start from a snapshot: redis writes the
        keys it has as a new AOF, and from then on every write again."""
        r = self.cli(['CONFIG', 'SET', 'appendonly', 'yes'])
        if r.returncode != 0 or 'OK' not in r.stdout:
            raise SetupError('CONFIG SET appendonly yes: %s %s'
                             % (r.stdout.strip(), r.stderr.strip()))
        for _ in deadline_loop(20.0, 0.05):
            info = self.cli(['INFO', 'persistence']).stdout
            if 'aof_enabled:1' in info and \
                    'aof_rewrite_in_progress:0' in info and \
                    'aof_rewrite_scheduled:0' in info:
                return
        raise SetupError('redis did not write its AOF after loading a '
                         'snapshot; see %s' % self.base)

    def kill(self):
        """SIGKILL the server."""
        if self.proc is not None:
            self.proc.kill()
            self.proc.wait()
            self.proc = None

    def stop(self):
        stop_pid(self.proc)
        self.proc = None


# -- daemons ---------------------------------------------------------------------

ERROR_LINE = re.compile(r'^h5swmrfs\[\d+\] error:|HDF5-DIAG')
# A report of AddressSanitizer, LeakSanitizer or UBSan (a daemon of a
# -Db_sanitize build): never explained by a fault.
SANITIZER_LINE = re.compile(r'^==\d+==ERROR: \w+Sanitizer|^SUMMARY: \w+Sanitizer|'
                            r'runtime error: ')
WARNING_LINE = re.compile(r'\bwarning:', re.IGNORECASE)


class Daemon:
    """One h5swmrfs in the foreground on (h5file, mountpoint). Its stderr is
    read by a thread that stamps every line with time.monotonic() (the
    daemon's lines carry no time) into LOG and into self.lines."""

    def __init__(self, index, exe, h5file, mountpoint, args, prefix, logdir,
                 env=None):
        self.index = index
        self.exe = exe
        self.h5file = h5file
        self.mountpoint = mountpoint
        self.args = list(args)
        self.prefix = list(prefix)
        self.logdir = logdir
        self.env = env
        self.proc = None
        self.lines = []          # (t, pid, line) of every daemon run
        self.runs = []           # (pid, t_start, t_end or None, status)
        self.conn = None         # its FUSE connection
        self.stuck = []          # runs that did not end when killed
        self._thread = None
        self._lock = threading.Lock()

    @property
    def pid(self):
        return self.proc.pid if self.proc is not None else None

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def start(self, timeout=20.0):
        if is_mounted(self.mountpoint):
            lazy_unmount(self.mountpoint)
        cmd = self.prefix + [self.exe, '-f'] + self.args + \
            [self.h5file, self.mountpoint]
        self.proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL,
                                     stdout=subprocess.PIPE,
                                     stderr=subprocess.STDOUT,
                                     start_new_session=True, env=self.env,
                                     cwd='/')
        self.runs.append([self.proc.pid, time.monotonic(), None, None])
        log = open(os.path.join(self.logdir, 'daemon%d.log' % self.index),
                   'a', buffering=1)
        log.write('%.6f === start pid %d: %s\n'
                  % (time.monotonic(), self.proc.pid, ' '.join(cmd)))
        self._thread = threading.Thread(target=self._read,
                                        args=(self.proc, log), daemon=True)
        self._thread.start()
        for _ in deadline_loop(timeout):
            if is_mounted(self.mountpoint):
                self.conn = fuse_connection(self.mountpoint)
                return self
            if self.proc.poll() is not None:
                self._thread.join(5)
                raise SetupError('daemon %d exited with %d before mounting:\n'
                                 '%s' % (self.index, self.proc.returncode,
                                         '\n'.join(l for _, _, l in
                                                   self.lines[-20:])))
        raise SetupError('mount %s did not appear within %gs'
                         % (self.mountpoint, timeout))

    def _read(self, proc, log):
        pid = proc.pid
        for raw in proc.stdout:
            t = time.monotonic()
            line = raw.decode('utf-8', 'replace').rstrip('\n')
            log.write('%.6f %s\n' % (t, line))
            with self._lock:
                self.lines.append((t, pid, line))
        log.close()

    def signal(self, sig):
        if self.alive():
            os.kill(self.proc.pid, sig)

    def reap(self, timeout=3.0):
        """Wait for the (killed) process; record its end. One that SIGKILL
        does not end within `timeout` has a thread stuck in the kernel, most
        likely on a request of its own connection that nobody will answer
        now: its threads are recorded in self.stuck and its connection is
        aborted, which ends such waits."""
        status = None
        if self.proc is not None:
            try:
                status = self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                status = self._wait_stuck(0)
            if self._thread is not None:
                self._thread.join(5)
            for run in self.runs:
                if run[0] == self.proc.pid and run[2] is None:
                    run[2], run[3] = time.monotonic(), status
        return status

    def _wait_stuck(self, timeout):
        """After SIGKILL: waits `timeout` more, then takes the process for
        stuck (threads recorded, connection aborted) and waits for it."""
        try:
            return self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            pass
        stuck = {'t': time.monotonic(), 'pid': self.proc.pid,
                 'threads': thread_states(self.proc.pid),
                 'connection': self.conn}
        stuck['aborted'] = self.conn is not None and \
            abort_fuse_connection(self.conn)
        self.stuck.append(stuck)
        try:
            return self.proc.wait(30)
        except subprocess.TimeoutExpired:
            return None

    def unmount(self, timeout=20.0):
        """fusermount3 -u, wait for the daemon to exit; problems found."""
        problems = []
        if self.proc is None:
            return problems
        if self.proc.poll() is None:
            os.kill(self.proc.pid, signal.SIGCONT)  # in case it was stopped
        for _ in deadline_loop(10.0, 0.1):
            if not is_mounted(self.mountpoint) or self.proc.poll() is not None:
                break
            r = subprocess.run(['fusermount3', '-u', self.mountpoint],
                               capture_output=True, text=True)
            if r.returncode == 0:
                break
        try:
            status = self.proc.wait(timeout)
            if status != 0:
                problems.append('daemon %d (pid %d) exited with status %d '
                                'after unmount' % (self.index, self.proc.pid,
                                                   status))
        except subprocess.TimeoutExpired:
            problems.append('daemon %d (pid %d) did not exit within %gs of '
                            'unmount; killed' % (self.index, self.proc.pid,
                                                 timeout))
            self.proc.kill()
            if self._wait_stuck(10.0) is None:
                problems.append('daemon %d (pid %d) did not end after '
                                'SIGKILL' % (self.index, self.proc.pid))
        self.reap()
        if is_mounted(self.mountpoint):
            problems.append('%s still mounted after the daemon exited'
                            % self.mountpoint)
            lazy_unmount(self.mountpoint)
        self.proc = None
        return problems

    def emergency_stop(self):
        """Clean-up path: end the daemon by PID and detach the mount."""
        if self.proc is not None and self.proc.poll() is None:
            try:
                os.kill(self.proc.pid, signal.SIGCONT)
            except OSError:
                pass
            subprocess.run(['fusermount3', '-u', self.mountpoint],
                           capture_output=True)
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self._wait_stuck(5.0)
        if is_mounted(self.mountpoint):
            lazy_unmount(self.mountpoint)


# -- h5swmrfs-ctl -----------------------------------------------------------------

class Ctl:
    """h5swmrfs-ctl with the redis options, run where redis is reachable."""

    def __init__(self, exe, prefix, redis_url, password_file, lease):
        self.base = list(prefix) + [exe, '--redis', redis_url,
                                    '--redis-password-file', password_file,
                                    '--lease', str(lease)]

    def status(self, key, timeout=10.0):
        """The --json status, or None when redis does not answer."""
        try:
            r = subprocess.run(self.base + ['status', key, '--json'],
                               capture_output=True, text=True,
                               timeout=timeout)
        except subprocess.TimeoutExpired:
            return None
        if r.returncode != 0:
            return None
        try:
            return json.loads(r.stdout)
        except ValueError:
            return None

    def run_cmd(self, mode, key, lock_timeout):
        return self.base + ['--lock-timeout', str(lock_timeout), 'run',
                            '--' + mode, key, '--']


def rm_tree(path):
    shutil.rmtree(path, ignore_errors=True)
