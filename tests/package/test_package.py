#!/usr/bin/python3
"""The Debian package, as an administrator meets it: tools/build-deb.sh builds
it from this tree into a temporary directory, lintian finds no error in it,
`apt-get install ./h5swmrfs_*.deb` installs it, the files are where they
belong, `systemd-analyze verify` accepts the unit template and the units the
documented fstab line makes, the installed /usr/bin/h5swmrfs mounts a sample
file (run directly, and through mount(8) as fstab runs it) and `cat` reads
what h5py reads, the unit's ExecStartPre clears the dead mount of a killed
daemon, and `apt-get remove` takes it all away again.

The host must be Debian with root, /dev/fuse, redis-server and the build
dependencies (tools/install-deps.sh); the package must not be installed
before (it is removed at the end). Everything made is undone: mounts, the
daemons and redis (by their PIDs), the package, the temporary directory.
"""

import errno
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

# h5py reads the sample while a daemon may hold it open.
os.environ['HDF5_USE_FILE_LOCKING'] = 'FALSE'
import h5py  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
SOURCE_ROOT = os.path.dirname(os.path.dirname(HERE))
PYTHON = '/usr/bin/python3'
PACKAGE = 'h5swmrfs'
APT = ['apt-get', '-y', '-q', '-o', 'DPkg::Lock::Timeout=300']
APT_ENV = dict(os.environ, DEBIAN_FRONTEND='noninteractive')
# What README.md and packaging/README.md give as the fstab line, on a path of ours.
FSTAB_LINE = ('/data/run.h5 /mnt/h5 fuse.h5swmrfs '
              'redis=redis://lockhost/0,_netdev,nofail,x-systemd.automount 0 0\n')
DATASETS = ['run1/temps', 'run1/grid', 'run2/temps']


class Failure(Exception):
    pass


def log(text):
    print(text, flush=True)


def run(args, check=True, **kwargs):
    """Runs args, output captured as text; raises Failure with it on error."""
    proc = subprocess.run(args, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                          stderr=subprocess.STDOUT, text=True, **kwargs)
    if check and proc.returncode != 0:
        raise Failure('%s exited with %d:\n%s' % (' '.join(args), proc.returncode,
                                                  proc.stdout[-6000:]))
    return proc


def installed():
    proc = run(['dpkg-query', '-W', '-f=${Status}', PACKAGE], check=False)
    return proc.returncode == 0 and proc.stdout.strip() == 'install ok installed'


def meson_version():
    with open(os.path.join(SOURCE_ROOT, 'meson.build')) as f:
        return re.search(r"version:\s*'([^']+)'", f.read()).group(1)


def mounted(mountpoint):
    target = os.path.realpath(mountpoint)
    with open('/proc/self/mountinfo') as info:
        for line in info:
            field = re.sub(r'\\([0-7]{3})', lambda m: chr(int(m.group(1), 8)),
                           line.split()[4])
            if field == target:
                return True
    return False


def wait_for(condition, timeout, what):
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise Failure('timed out after %.0f s waiting for %s' % (timeout, what))
        time.sleep(0.05)


def pids_naming(path):
    """PIDs of the processes whose command line names path (a daemon that
    mount(8) started and that forked away from us)."""
    pids = []
    for entry in os.listdir('/proc'):
        if not entry.isdigit() or int(entry) == os.getpid():
            continue
        try:
            with open('/proc/%s/cmdline' % entry, 'rb') as f:
                args = f.read().split(b'\0')
        except OSError:
            continue
        if os.fsencode(path) in args:
            pids.append(int(entry))
    return pids


def free_port():
    with socket.socket() as sock:
        sock.bind(('127.0.0.1', 0))
        return sock.getsockname()[1]


def redis_ping(port):
    try:
        with socket.create_connection(('127.0.0.1', port), timeout=1) as sock:
            sock.sendall(b'PING\r\n')
            return sock.recv(16).startswith(b'+PONG')
    except OSError:
        return False


class Scenario:
    def __init__(self):
        self.tmp = tempfile.mkdtemp(prefix='h5swmrfs-package-test-')
        self.out = os.path.join(self.tmp, 'debs')
        self.mountpoint = os.path.join(self.tmp, 'mnt')
        self.sample = os.path.join(self.tmp, 'sample.h5')
        self.redis = None
        self.daemon = None
        self.we_installed = False
        self.timings = []

    def step(self, name, fn):
        log('== ' + name)
        start = time.monotonic()
        fn()
        self.timings.append((name, time.monotonic() - start))

    # -- the steps --

    def check_host(self):
        if os.geteuid() != 0:
            raise Failure('must run as root: it installs and removes the package')
        for tool in ('apt-get', 'dpkg-buildpackage', 'lintian', 'systemd-analyze',
                     'redis-server', 'fusermount3', 'rsync'):
            if shutil.which(tool) is None:
                raise Failure(tool + ' is missing (bash tools/install-deps.sh)')
        if not os.path.exists('/dev/fuse'):
            raise Failure('/dev/fuse is missing')
        if installed():
            raise Failure('the %s package is installed already; this test installs and '
                          'removes it: apt-get remove %s first' % (PACKAGE, PACKAGE))

    def build(self):
        # The copy of the tree goes under our directory (TMPDIR), and the build runs in
        # its own process group: stopped halfway, nothing of it is left behind.
        proc = subprocess.Popen(
            ['bash', os.path.join(SOURCE_ROOT, 'tools', 'build-deb.sh'), self.out],
            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
            text=True, start_new_session=True, env=dict(os.environ, TMPDIR=self.tmp))
        try:
            output, _ = proc.communicate()
        except BaseException:
            try:
                os.killpg(proc.pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
            proc.wait()
            raise
        if proc.returncode != 0:
            raise Failure('tools/build-deb.sh failed:\n' + output[-8000:])
        debs = glob.glob(os.path.join(self.out, PACKAGE + '_*.deb'))
        if len(debs) != 1:
            raise Failure('expected one %s_*.deb in %s, found %s'
                          % (PACKAGE, self.out, os.listdir(self.out)))
        self.deb = debs[0]
        expected = '%s_%s_' % (PACKAGE, meson_version())
        if not os.path.basename(self.deb).startswith(expected):
            raise Failure('%s is not version %s' % (self.deb, meson_version()))
        if glob.glob(os.path.join(SOURCE_ROOT, 'debian')):
            raise Failure('the build left debian/ in the source tree')

    def lintian(self):
        proc = run(['lintian', '--fail-on', 'error', '--no-tag-display-limit', self.deb],
                   check=False)
        tags = [line for line in proc.stdout.splitlines() if re.match(r'[EWIP]: ', line)]
        log('lintian: ' + ('\n  '.join([''] + tags) if tags else 'no tags'))
        errors = [line for line in tags if line.startswith('E: ')]
        if proc.returncode != 0 or errors:
            raise Failure('lintian reports errors (status %d):\n%s'
                          % (proc.returncode, proc.stdout))

    def install(self):
        self.we_installed = True
        run(APT + ['install', './' + os.path.basename(self.deb)], cwd=self.out, env=APT_ENV)
        if not installed():
            raise Failure('apt-get install left %s not installed' % PACKAGE)

    def check_files(self):
        wanted = ['/usr/bin/h5swmrfs', '/usr/bin/h5swmrfs-ctl',
                  '/lib/systemd/system/h5swmrfs@.service',
                  '/usr/share/doc/h5swmrfs/copyright',
                  '/usr/share/doc/h5swmrfs/README.md.gz']
        wanted += ['/usr/share/man/man1/%s.gz' % os.path.basename(page)
                   for page in glob.glob(os.path.join(SOURCE_ROOT, 'packaging', '*.1'))]
        wanted += ['/usr/share/doc/h5swmrfs/%s.gz' % os.path.basename(doc)
                   for doc in glob.glob(os.path.join(SOURCE_ROOT, 'docs', '*.md'))]
        owned = set(run(['dpkg-query', '-L', PACKAGE]).stdout.split('\n'))
        for path in wanted:
            if path not in owned or not os.path.exists(path):
                raise Failure('%s is not installed by the package' % path)
        for program in ('/usr/bin/h5swmrfs', '/usr/bin/h5swmrfs-ctl'):
            if not os.access(program, os.X_OK):
                raise Failure(program + ' is not executable')
        depends = run(['dpkg-query', '-W', '-f=${Depends}', PACKAGE]).stdout
        for dependency in ('fuse3', 'libfuse3-3', 'libhdf5', 'libhiredis'):
            if dependency not in depends:
                raise Failure('Depends lacks %s: %s' % (dependency, depends))
        for program in ('h5swmrfs', 'h5swmrfs-ctl'):
            version = run([program, '--version']).stdout  # found on PATH
            if not version.startswith('%s %s' % (program, meson_version())):
                raise Failure('%s --version says %r' % (program, version))
        # The test-only fault hooks (src/fs/fault.cpp) are compiled out of a release build.
        with open('/usr/bin/h5swmrfs', 'rb') as f:
            if b'H5SWMRFS_FAULT_FILE' in f.read():
                raise Failure('/usr/bin/h5swmrfs has the test-only fault hooks compiled in')

    def verify_units(self):
        with open('/lib/systemd/system/h5swmrfs@.service') as f:
            unit = f.read()
        for line in ('ExecStart=/usr/bin/h5swmrfs ', 'ExecStartPre=-/bin/fusermount3 -u -z %f',
                     'Restart=on-failure'):
            if line not in unit:
                raise Failure('the installed unit lacks %r' % line)
        instance = run(['systemd-escape', '--template=h5swmrfs@.service', '--path',
                        '/mnt/h5']).stdout.strip()
        self.systemd_verify([instance])
        # The units systemd makes of the fstab line the READMEs give.
        generated = os.path.join(self.tmp, 'generated')
        os.mkdir(generated)
        fstab = os.path.join(self.tmp, 'fstab')
        with open(fstab, 'w') as f:
            f.write(FSTAB_LINE)
        run(['/lib/systemd/system-generators/systemd-fstab-generator',
             generated, generated, generated],
            env=dict(os.environ, SYSTEMD_FSTAB=fstab, SYSTEMD_PROC_CMDLINE=''))
        units = [os.path.join(generated, name) for name in ('mnt-h5.mount', 'mnt-h5.automount')]
        for path in units:
            if not os.path.exists(path):
                raise Failure('the fstab line made no %s: %s'
                              % (os.path.basename(path), os.listdir(generated)))
        with open(units[0]) as f:
            if 'Type=fuse.h5swmrfs' not in f.read():
                raise Failure('mnt-h5.mount is not of type fuse.h5swmrfs')
        self.systemd_verify(units)

    def systemd_verify(self, units):
        proc = run(['systemd-analyze', 'verify'] + units, check=False, cwd=self.tmp)
        names = [os.path.basename(unit) for unit in units]
        complaints = [line for line in proc.stdout.splitlines()
                      if any(name in line for name in names) or 'h5swmrfs' in line]
        if proc.returncode != 0 or complaints:
            raise Failure('systemd-analyze verify %s (status %d):\n%s'
                          % (' '.join(names), proc.returncode, proc.stdout))
        log('systemd-analyze verify %s: ok' % ' '.join(names))

    def start_redis(self):
        for _ in range(5):  # the free port may be taken before redis binds it
            port = free_port()
            proc = subprocess.Popen(
                ['redis-server', '--port', str(port), '--bind', '127.0.0.1', '--save', '',
                 '--appendonly', 'no', '--dir', self.tmp, '--daemonize', 'no',
                 '--logfile', os.path.join(self.tmp, 'redis.log')],
                stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL)
            deadline = time.monotonic() + 10
            while proc.poll() is None and time.monotonic() < deadline:
                if redis_ping(port):
                    self.redis, self.redis_url = proc, 'redis://127.0.0.1:%d/0' % port
                    return
                time.sleep(0.05)
            stop(proc)
        raise Failure('redis-server did not start; see redis.log')

    def make_sample(self):
        run([PYTHON, os.path.join(SOURCE_ROOT, 'tools', 'make_sample.py'), self.sample])
        with h5py.File(self.sample, 'r') as f:
            self.expected = {name: f[name][...].tobytes() for name in DATASETS}
        os.mkdir(self.mountpoint)

    def compare(self):
        for name in DATASETS:
            got = subprocess.run(['cat', os.path.join(self.mountpoint, name)],
                                 stdout=subprocess.PIPE, check=True).stdout
            if got != self.expected[name]:
                raise Failure('cat %s gave %d bytes unlike h5py\'s %d'
                              % (name, len(got), len(self.expected[name])))
        log('cat == h5py for ' + ', '.join(DATASETS))

    def start_daemon(self, *options):
        self.daemon = subprocess.Popen(
            ['/usr/bin/h5swmrfs', '-f', '--redis', self.redis_url, *options, self.sample,
             self.mountpoint],
            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
            cwd='/')
        wait_for(lambda: mounted(self.mountpoint) or self.daemon.poll() is not None, 20,
                 'the mount')
        if self.daemon.poll() is not None:
            raise Failure('h5swmrfs exited with %d:\n%s'
                          % (self.daemon.returncode, self.daemon.stdout.read().decode()))

    def mount_directly(self):
        self.start_daemon()
        self.compare()
        run(['h5swmrfs-ctl', '--redis', self.redis_url, 'status', self.sample])
        run(['fusermount3', '-u', self.mountpoint])
        try:
            status = self.daemon.wait(20)
        except subprocess.TimeoutExpired:
            raise Failure('h5swmrfs did not exit after fusermount3 -u')
        output = self.daemon.stdout.read().decode('utf-8', 'replace')
        self.daemon = None
        if status != 0:
            raise Failure('h5swmrfs exited with %d after unmount:\n%s' % (status, output))

    def crash_and_clear(self):
        # What the unit's ExecStartPre is for: a daemon killed without unmounting
        # leaves a dead mount ("Transport endpoint is not connected"); the command,
        # taken from the installed unit, detaches it so that a new mount can be made.
        with open('/lib/systemd/system/h5swmrfs@.service') as f:
            pre = re.search(r'^ExecStartPre=-(.*)$', f.read(), re.MULTILINE).group(1)
        # Its shared hold outlives it by its lease, which the next write waits out:
        # a short one keeps the wait short.
        self.start_daemon('--lease', '2')
        self.daemon.kill()
        self.daemon.wait()
        self.daemon = None
        # The kernel keeps the mount point's attributes for a second (README, Kernel
        # caching): within that, stat(2) of the dead mount must fail with ENOTCONN.
        deadline = time.monotonic() + 3.0
        while True:
            try:
                os.stat(self.mountpoint)
            except OSError as e:
                if e.errno != errno.ENOTCONN:
                    raise Failure('the dead mount gave %s, not ENOTCONN' % e)
                break
            if time.monotonic() > deadline:
                raise Failure('the mount of a killed daemon still answers after 3 s')
            time.sleep(0.05)
        run(pre.replace('%f', self.mountpoint).split())
        if mounted(self.mountpoint):
            raise Failure('%r left the dead mount' % pre)
        log('%s cleared the dead mount' % pre)

    def mount_as_fstab_does(self):
        # An fstab line in a temporary fstab, its options in their -o spelling:
        # mount(8) runs mount.fuse3, which runs `h5swmrfs FILE MOUNTPOINT -o OPTIONS`
        # from PATH and returns once the daemon has forked away.
        fstab = os.path.join(os.path.dirname(self.sample), 'fstab')
        with open(fstab, 'w') as out:
            out.write('%s %s fuse.h5swmrfs redis=%s,lease=5,lock_timeout=30,_netdev,nofail 0 0\n'
                      % (self.sample, self.mountpoint, self.redis_url))
        run(['mount', '-a', '-T', fstab])
        if not mounted(self.mountpoint):
            raise Failure('mount -a -T FSTAB returned without a mount')
        self.compare()
        written = bytes(range(256)) * 16
        with open(os.path.join(self.mountpoint, 'written'), 'wb') as out:
            out.write(written)
        run(['umount', self.mountpoint])
        wait_for(lambda: not pids_naming(self.mountpoint), 20,
                 'the daemon of mount(8) to exit')
        with h5py.File(self.sample, 'r') as f:
            if f['written'][...].tobytes() != written:
                raise Failure('what was written through the fstab mount is not in the file')
        log('fstab line: cat == h5py, a new dataset written and read back by h5py')

    def remove(self):
        run(APT + ['remove', PACKAGE], env=APT_ENV)
        if installed():
            raise Failure('apt-get remove left %s installed' % PACKAGE)
        for path in ('/usr/bin/h5swmrfs', '/usr/bin/h5swmrfs-ctl',
                     '/lib/systemd/system/h5swmrfs@.service', '/usr/share/doc/h5swmrfs'):
            if os.path.lexists(path):
                raise Failure('%s is left after apt-get remove' % path)
        self.we_installed = False

    # -- undoing --

    def cleanup(self):
        if mounted(self.mountpoint):
            subprocess.run(['fusermount3', '-u', '-z', self.mountpoint])
        if self.daemon is not None:
            stop(self.daemon)
        for pid in pids_naming(self.mountpoint):
            try:
                os.kill(pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
        if self.redis is not None:
            stop(self.redis)
        if self.we_installed and installed():
            subprocess.run(APT + ['remove', PACKAGE], env=APT_ENV,
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        shutil.rmtree(self.tmp, ignore_errors=True)


def stop(proc, timeout=10.0):
    """Ends a child we started, by its PID; SIGKILL if it hangs."""
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def main():
    # meson test ends a test that runs past its timeout with SIGTERM: clean up then too.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit('terminated'))
    scenario = Scenario()
    started = time.monotonic()
    try:
        scenario.step('host', scenario.check_host)
        scenario.step('build the package (tools/build-deb.sh)', scenario.build)
        scenario.step('lintian', scenario.lintian)
        scenario.step('apt-get install ./' + os.path.basename(scenario.deb), scenario.install)
        scenario.step('installed files, Depends, --version', scenario.check_files)
        scenario.step('systemd-analyze verify', scenario.verify_units)
        scenario.step('redis and a sample file', lambda: (scenario.start_redis(),
                                                          scenario.make_sample()))
        scenario.step('mount with /usr/bin/h5swmrfs, cat, unmount', scenario.mount_directly)
        scenario.step('a killed daemon, the unit\'s ExecStartPre', scenario.crash_and_clear)
        scenario.step('mount -a -T FSTAB (redis=, lease=), cat, write, umount', scenario.mount_as_fstab_does)
        scenario.step('apt-get remove ' + PACKAGE, scenario.remove)
    except Failure as e:
        log('FAIL: %s' % e)
        return 1
    finally:
        scenario.cleanup()
        for name, seconds in scenario.timings:
            log('%6.1f s  %s' % (seconds, name))
        log('%6.1f s  in all' % (time.monotonic() - started))
    log('ok')
    return 0


if __name__ == '__main__':
    sys.exit(main())
