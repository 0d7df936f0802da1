#!/usr/bin/python3
"""--metrics: a mount serves Prometheus text (format 0.0.4) at /metrics.

The endpoint is scraped while cat, dd and cp run through the mount, each
scrape parsed with Prometheus's own parser (prometheus_client); the counters
must agree with what the test did: exactly N commits after N cp's and their
bytes, at least the bytes cat and dd read, an errno result for each kind of
failure it caused. A mount without --metrics listens nowhere; one with it
listens on that address only (its sockets in /proc); a unix socket works and
is removed at unmount; an address that is not an IP literal, or a port
already taken, fails the startup. A redis restart under a pinned reader
shows as a reconnect, missed renewals and a lost hold. The direct read path's
look-ups of chunks count as kept, decoded or failed (a damaged chunk).
"""

import errno
import http.client
import os
import re
import socket
import threading
import time
import urllib.error
import urllib.request

import h5py
import numpy as np
from prometheus_client.parser import text_string_to_metric_families

import harness
import write_harness as wh

DATA = np.arange(300000, dtype='u1')
FIXED = np.arange(12, dtype='<i4')
CONTENT_TYPE = 'text/plain; version=0.0.4; charset=utf-8'

# Every kind of FUSE operation the mount serves (src/fs/operations.cpp).
OPERATIONS = ['lookup', 'forget', 'forget_multi', 'getattr', 'readlink',
              'opendir', 'readdir', 'readdirplus', 'releasedir', 'statfs',
              'open', 'read', 'release', 'getxattr', 'listxattr', 'create',
              'write', 'flush', 'fsync', 'setattr', 'mkdir', 'mknod',
              'unlink', 'rmdir', 'rename', 'symlink', 'link', 'setxattr',
              'removexattr']


def build(f):
    f.create_dataset('data', data=DATA)
    f.create_dataset('fixed', data=FIXED)


class Scrape:
    """One scrape: its samples by (name, labels) and its families by name,
    both from prometheus_client's parser."""

    def __init__(self, text):
        self.text = text
        self.families = {}
        self.samples = {}
        for family in text_string_to_metric_families(text):
            self.families[family.name] = family
            for sample in family.samples:
                key = (sample.name, tuple(sorted(sample.labels.items())))
                self.samples[key] = sample.value

    def value(self, name, **labels):
        """A sample's value; 0 for a series not there (yet)."""
        return self.samples.get((name, tuple(sorted(labels.items()))), 0)

    def series(self, name):
        """{labels: value} of every sample called name."""
        return {labels: value for (n, labels), value in self.samples.items()
                if n == name}


def http_get(port, path='/metrics'):
    with urllib.request.urlopen('http://127.0.0.1:%d%s' % (port, path),
                                timeout=10) as response:
        return response.headers.get('Content-Type'), response.read().decode()


def scrape(port):
    content_type, text = http_get(port)
    assert content_type == CONTENT_TYPE, content_type
    return Scrape(text)


class UnixHTTPConnection(http.client.HTTPConnection):

    def __init__(self, path):
        super().__init__('localhost', timeout=10)
        self.socket_path = path

    def connect(self):
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        self.sock.settimeout(10)
        self.sock.connect(self.socket_path)


def socket_inodes(pid):
    """The inodes of the sockets process pid has open."""
    inodes = set()
    fd_dir = '/proc/%d/fd' % pid
    for fd in os.listdir(fd_dir):
        try:
            target = os.readlink(os.path.join(fd_dir, fd))
        except OSError:
            continue
        m = re.fullmatch(r'socket:\[(\d+)\]', target)
        if m:
            inodes.add(int(m.group(1)))
    return inodes


def _hex_address(text, v6):
    address, port = text.split(':')
    raw = bytes.fromhex(address)
    if v6:  # four host-order 32-bit words
        raw = b''.join(raw[i:i + 4][::-1] for i in range(0, 16, 4))
        return socket.inet_ntop(socket.AF_INET6, raw), int(port, 16)
    return socket.inet_ntop(socket.AF_INET, raw[::-1]), int(port, 16)


def listening(pid):
    """What process pid listens on: ('tcp', address, port) and
    ('unix', path) tuples, from /proc/PID/net."""
    inodes = socket_inodes(pid)
    found = []
    for table, v6 in (('tcp', False), ('tcp6', True)):
        with open('/proc/%d/net/%s' % (pid, table)) as lines:
            next(lines)
            for line in lines:
                fields = line.split()
                if fields[3] == '0A' and int(fields[9]) in inodes:  # LISTEN
                    found.append(('tcp',) + _hex_address(fields[1], v6))
    with open('/proc/%d/net/unix' % pid) as lines:
        next(lines)
        for line in lines:
            fields = line.split()
            # Flags __SO_ACCEPTCON: a listening socket.
            if int(fields[3], 16) & 0x10000 and int(fields[6]) in inodes:
                found.append(('unix', fields[7] if len(fields) > 7 else ''))
    return found


class Metrics(wh.WriteTestCase):

    def setUp(self):
        super().setUp()
        self.make_file(build)

    def mount_with_metrics(self, address=None, args=(), **kwargs):
        self.port = harness.free_port()
        address = address or '127.0.0.1:%d' % self.port
        return self.mount(args=['--metrics', address] + list(args), **kwargs)

    def test_counters_agree_with_a_workload(self):
        # Every read reaches the daemon, so the bytes counted are the bytes read.
        mount = self.mount_with_metrics(args=['--no-cache'], errors=True)
        data = DATA.tobytes()
        before = scrape(self.port)
        for op in OPERATIONS:  # every kind, from the first scrape on
            self.assertIn((('op', op), ('result', 'ok')),
                          before.series('h5swmrfs_operations_total'), op)

        # Scrapes while the workload runs: every one must parse.
        stop = threading.Event()
        scrapes, failures = [], []

        def scraper():
            while not stop.is_set():
                try:
                    scrapes.append(scrape(self.port))
                except Exception as e:  # noqa: BLE001  reported below
                    failures.append(repr(e))
                time.sleep(0.02)
        thread = threading.Thread(target=scraper)
        thread.start()
        try:
            self.assertEqual(self.cat(self.p('data')), data)
            dd = self.run_tool('dd', 'if=' + self.p('data'), 'of=/dev/null',
                               'bs=4096', 'skip=10', 'count=20')
            self.assertEqual(dd.returncode, 0, dd.stderr)
            copies = [os.urandom(n) for n in (1, 1000, 70000, 200000)]
            for i, content in enumerate(copies):
                self.assert_ok(self.run_tool(
                    'cp', self.src('copy%d' % i, content),
                    self.p('new%d' % i)))
            for i, content in enumerate(copies):
                self.assertEqual(self.cat(self.p('new%d' % i)), content)
            # Failures: a name that is not there (lookup ENOENT), a copy of
            # the wrong length over a fixed-size dataset (its close, the
            # flush, fails with EINVAL; so do its commit and the one the
            # release tries again with what stayed staged).
            self.assert_fails(self.run_tool('cat', self.p('missing')),
                              errno.ENOENT)
            self.assert_fails(self.run_tool(
                'cp', self.src('short', b'x' * 20), self.p('fixed')),
                errno.EINVAL)
        finally:
            stop.set()
            thread.join()
        self.assertEqual(failures, [])
        self.assertGreater(len(scrapes), 0)
        # The kernel sends the release after close(2) has returned, without
        # waiting: its commit is counted a moment later.
        for _ in harness.deadline_loop(10):
            after = scrape(self.port)
            if after.value('h5swmrfs_commits_total', result='EINVAL') - \
                    before.value('h5swmrfs_commits_total', result='EINVAL') >= 2:
                break

        def delta(name, **labels):
            return after.value(name, **labels) - before.value(name, **labels)

        cat_bytes = len(data) + sum(len(c) for c in copies)
        dd_bytes = 20 * 4096
        self.assertEqual(delta('h5swmrfs_commits_total', result='ok'),
                         len(copies))
        self.assertEqual(delta('h5swmrfs_commits_total', result='EINVAL'), 2)
        self.assertEqual(delta('h5swmrfs_commit_bytes_total'),
                         sum(len(c) for c in copies))
        self.assertGreaterEqual(delta('h5swmrfs_read_bytes_total'),
                                cat_bytes + dd_bytes)
        self.assertGreaterEqual(delta('h5swmrfs_operations_total',
                                      op='lookup', result='ENOENT'), 1)
        self.assertEqual(delta('h5swmrfs_operations_total',
                               op='flush', result='EINVAL'), 1)
        self.assertGreaterEqual(delta('h5swmrfs_operations_total',
                                      op='create', result='ok'), len(copies))
        self.assertGreaterEqual(delta('h5swmrfs_operations_total',
                                      op='write', result='ok'), len(copies))
        # Every commit and create took an exclusive hold, and waited for it.
        self.assertGreaterEqual(delta('h5swmrfs_lock_holds_taken_total',
                                      mode='exclusive'), 2 * len(copies))
        self.assertGreaterEqual(delta('h5swmrfs_lock_wait_seconds_count',
                                      mode='exclusive'), 2 * len(copies))
        self.assertGreaterEqual(after.value('h5swmrfs_lock_holds_taken_total',
                                            mode='shared'), 1)
        self.check_consistent(after)
        # Counters never go back, from one scrape to the next.
        for earlier, later in zip([before] + scrapes, scrapes + [after]):
            for key, value in earlier.samples.items():
                if key[0].endswith(('_total', '_count', '_bucket')):
                    self.assertGreaterEqual(later.samples.get(key, 0), value,
                                            key)
        self.unmount(mount)

    def check_consistent(self, scrape_):
        """Types as documented; per op, the latency histogram counted every
        request the operations counter did; buckets cumulative."""
        types = {name: family.type
                 for name, family in scrape_.families.items()}
        for name in ('h5swmrfs_operations', 'h5swmrfs_commits',
                     'h5swmrfs_commit_bytes', 'h5swmrfs_read_bytes',
                     'h5swmrfs_lock_holds_taken',
                     'h5swmrfs_lock_holds_given_up',
                     'h5swmrfs_lock_renewals_missed',
                     'h5swmrfs_lock_writer_notices',
                     'h5swmrfs_redis_reconnects', 'h5swmrfs_chunks',
                     'h5swmrfs_chunk_decoded_bytes'):
            self.assertEqual(types.get(name), 'counter', name)
        for name in ('h5swmrfs_operation_duration_seconds',
                     'h5swmrfs_lock_wait_seconds'):
            self.assertEqual(types.get(name), 'histogram', name)
        for op in OPERATIONS:
            requests = sum(v for labels, v in scrape_.series(
                'h5swmrfs_operations_total').items()
                if dict(labels)['op'] == op)
            self.assertEqual(scrape_.value(
                'h5swmrfs_operation_duration_seconds_count', op=op), requests,
                op)
            buckets = sorted(
                (float(dict(labels)['le']), v) for labels, v in scrape_.series(
                    'h5swmrfs_operation_duration_seconds_bucket').items()
                if dict(labels)['op'] == op)
            counts = [v for _, v in buckets]
            self.assertEqual(counts, sorted(counts), op)
            self.assertEqual(buckets[-1], (float('inf'), requests), op)

    def test_chunk_lookups(self):
        # One chunk a dataset, so nothing is read ahead: each look-up's answer is known.
        values = np.arange(65536, dtype='<f4')
        path = os.path.join(self.tmp, 'chunked.h5')
        with h5py.File(path, 'w') as f:
            for name in ('one', 'bad'):
                f.create_dataset(name, data=values, chunks=values.shape, compression='gzip',
                                 shuffle=True)
            info = f['bad'].id.get_chunk_info(0)
        with open(path, 'r+b') as f:  # the middle of its deflate stream overwritten
            f.seek(info.byte_offset + info.size // 2)
            f.write(b'\xff' * 64)
        mount = self.mount_with_metrics(args=['--no-cache'], errors=True, h5path=path,
                                        name='chunked')

        def lookups():
            now = scrape(self.port)
            return ({result: now.value('h5swmrfs_chunks_total', result=result)
                     for result in ('kept', 'shared', 'decoded', 'failed')},
                    now.value('h5swmrfs_chunk_decoded_bytes_total'))

        self.assertEqual(lookups(), ({'kept': 0, 'shared': 0, 'decoded': 0, 'failed': 0}, 0))
        one = os.path.join(mount.mountpoint, 'one')
        fd = os.open(one, os.O_RDONLY)
        try:
            self.assertEqual(os.pread(fd, 100, 0), values.tobytes()[:100])
            self.assertEqual(lookups(), ({'kept': 0, 'shared': 0, 'decoded': 1, 'failed': 0},
                                         values.nbytes))
            self.assertEqual(os.pread(fd, 100, 4096), values.tobytes()[4096:4196])
            self.assertEqual(lookups(), ({'kept': 1, 'shared': 0, 'decoded': 1, 'failed': 0},
                                         values.nbytes))
        finally:
            os.close(fd)
        with self.assertRaises(OSError) as raised:
            with open(os.path.join(mount.mountpoint, 'bad'), 'rb') as f:
                f.read(100)
        self.assertEqual(raised.exception.errno, errno.EIO)
        self.assertEqual(lookups(), ({'kept': 1, 'shared': 0, 'decoded': 1, 'failed': 1},
                                     values.nbytes))
        self.unmount(mount)

    def test_listens_only_on_the_given_address(self):
        mount = self.mount_with_metrics()
        self.assertEqual(listening(mount.proc.pid),
                         [('tcp', '127.0.0.1', self.port)])
        content_type, text = http_get(self.port, '/')
        self.assertIn('/metrics', text)
        with self.assertRaises(urllib.error.HTTPError) as caught:
            http_get(self.port, '/other')
        self.assertEqual(caught.exception.code, 404)
        self.unmount(mount)
        with self.assertRaises(OSError):
            socket.create_connection(('127.0.0.1', self.port), timeout=2)

    def test_nothing_listens_without_the_option(self):
        mount = self.mount()
        os.listdir(self.mnt)
        self.assertEqual(listening(mount.proc.pid), [])
        self.unmount(mount)

    def test_unix_socket(self):
        path = os.path.join(self.tmp, 'metrics.sock')
        # A stale socket (nobody listens) is replaced.
        stale = socket.socket(socket.AF_UNIX)
        stale.bind(path)
        stale.close()
        mount = self.mount_with_metrics('unix:' + path)
        self.assertEqual(listening(mount.proc.pid), [('unix', path)])
        self.assertEqual(self.cat(self.p('fixed')), FIXED.tobytes())
        connection = UnixHTTPConnection(path)
        connection.request('GET', '/metrics')
        response = connection.getresponse()
        self.assertEqual(response.status, 200)
        self.assertEqual(response.getheader('Content-Type'), CONTENT_TYPE)
        parsed = Scrape(response.read().decode())
        connection.close()
        self.assertGreaterEqual(parsed.value('h5swmrfs_read_bytes_total'),
                                FIXED.nbytes)
        # A second mount cannot take the socket the first serves on.
        second = os.path.join(self.tmp, 'second')
        os.mkdir(second)
        status, _, stderr = harness.run_daemon_to_exit(
            ['--redis', self.redis.url(), '--metrics', 'unix:' + path,
             self.h5path, second], second)
        self.assertEqual(status, 1, stderr)
        self.assertIn('another process listens there', stderr)
        self.unmount(mount)
        self.assertFalse(os.path.exists(path))

    def test_startup_refuses_what_it_cannot_serve(self):
        mnt = os.path.join(self.tmp, 'refused')
        os.mkdir(mnt)
        with socket.socket() as taken:
            taken.bind(('127.0.0.1', 0))
            taken.listen()
            port = taken.getsockname()[1]
            for address, message in (
                    ('example.org:9464', 'not an IP address'),
                    ('9464', 'no port'),
                    (':9464', 'no host'),
                    ('127.0.0.1:0', 'port'),
                    ('127.0.0.1:%d' % port, 'Address already in use')):
                status, _, stderr = harness.run_daemon_to_exit(
                    ['--redis', self.redis.url(), '--metrics', address,
                     self.h5path, mnt], mnt)
                self.assertEqual(status, 1, (address, stderr))
                self.assertIn(message, stderr, address)
                self.assertFalse(harness.is_mounted(mnt), address)

    def test_redis_restart_counts_reconnect_missed_renewals_and_lost_hold(self):
        # --no-cache: a caching mount gives its hold up as soon as its lease
        # is in doubt (test_coherence.py), before it could find it lost.
        mount = self.mount_with_metrics(args=['--lease', '2', '--no-cache'],
                                        errors=True)
        reader = os.open(self.p('data'), os.O_RDONLY)  # a pinned shared hold
        try:
            self.assertEqual(len(os.read(reader, 10)), 10)
            before = scrape(self.port)
            self.redis.pause_server()
            try:
                time.sleep(2.5)  # past the lease: renewals fail meanwhile
            finally:
                self.redis.resume_server()
            after = before
            for _ in harness.deadline_loop(10.0, pause=0.2):
                after = scrape(self.port)
                if after.value('h5swmrfs_redis_reconnects_total') > \
                        before.value('h5swmrfs_redis_reconnects_total') and \
                        after.value('h5swmrfs_lock_holds_given_up_total',
                                    mode='shared', reason='lost') > 0:
                    break
        finally:
            os.close(reader)
        self.assertGreaterEqual(after.value('h5swmrfs_redis_reconnects_total'),
                                1, after.text)
        self.assertGreaterEqual(
            after.value('h5swmrfs_lock_renewals_missed_total'), 1, after.text)
        self.assertGreaterEqual(after.value(
            'h5swmrfs_lock_holds_given_up_total', mode='shared',
            reason='lost'), 1, after.text)
        self.unmount(mount)


if __name__ == '__main__':
    wh.main()
