#!/usr/bin/python3
"""A writer that dies in the middle of a commit (SPEC.md section 5: a reader
never sees half of a write; section 6: nobody deadlocks). A commit is first
written to a journal and published as FILE.h5swmrfs-redo before the file
is touched (docs/LOCKING.md): a writer killed before that leaves the file as
it was, one killed after leaves the redo file, which whoever takes the lock
next finishes before anything else.

- A redo file left with half of its records applied (made by another
  program, in the documented format) is finished by the next `cat` through
  a mount: the reader sees the whole committed state, the redo is gone.
- `h5swmrfs-ctl run FILE` finishes it before its command starts.
- A daemon SIGKILLed while it holds the exclusive lock for a `cp` over a
  32 MiB dataset, at several moments of the commit: another mount then
  reads the whole old or the whole new dataset, never a mixture, the file
  passes h5dump, and no redo file is left behind."""

import hashlib
import json
import os
import shutil
import signal
import subprocess
import time

import h5py
import numpy as np

import harness
import write_harness as wh

LEASE = '1'
BIG = 32 << 20
HERE = os.path.dirname(os.path.abspath(__file__))


def pattern(seed):
    words = np.arange(BIG // 4, dtype=np.uint32) * np.uint32(2654435761 if seed else 40503)
    return (words ^ np.uint32(seed * 0x9E3779B9 & 0xFFFFFFFF)).view(np.uint8)


class WriterCrash(wh.WriteTestCase):

    H5DUMP_ARGS = ('-H',)

    def lock_args(self):
        return ['--redis', self.redis.url(), '--lease', LEASE]

    def leave_half_applied_redo(self, change):
        """Under the exclusive lock: FILE gets a redo file for `change`
        (applied to a copy with h5py) with half of its records copied in.
        Returns the committed state's snapshot."""
        after = os.path.join(self.tmp, 'after.h5')
        with self.shared_hold():
            shutil.copyfile(self.h5path, after)
        with h5py.File(after, 'r+') as f:
            change(f)
        with h5py.File(after, 'r') as f:
            expected = wh.snapshot(f)
        result = subprocess.run(
            [self.ctl] + self.lock_args() + ['run', '--exclusive', self.h5path, '--',
             '/usr/bin/python3', os.path.join(HERE, 'redo_file.py'), self.h5path, after, '1'],
            capture_output=True, text=True, timeout=60)
        self.assertEqual(result.returncode, 0, result.stderr)
        self.assertGreaterEqual(int(result.stdout), 2, 'a change of one record tests nothing halfway')
        self.assertTrue(os.path.exists(self.redo()))
        return expected

    def redo(self):
        return self.h5path + '.h5swmrfs-redo'

    def build(self, f):
        f['d'] = np.arange(10000, dtype='<i4')
        f.create_group('g')['e'] = np.linspace(0, 1, 100)

    @staticmethod
    def change(f):
        f['d'][...] = np.arange(10000, dtype='<i4') * -3
        f['g'].create_dataset('new', data=np.arange(5000, dtype='<f8'))
        del f['g/e']

    def test_half_applied_commit_is_finished_by_the_next_reader(self):
        self.make_file(self.build)
        self.mount(args=['--lease', LEASE])
        expected = self.leave_half_applied_redo(self.change)
        got = np.frombuffer(self.cat(self.p('d')), dtype='<i4')
        np.testing.assert_array_equal(got, np.arange(10000, dtype='<i4') * -3)
        self.assertEqual(sorted(os.listdir(self.p('g'))), ['new'])
        self.assertFalse(os.path.exists(self.redo()))
        self.assertEqual(self.snapshot(), expected)
        self.assertIn('finished a commit whose writer stopped halfway', self.mounts[0].log_text())

    def test_ctl_run_finishes_it_before_its_command(self):
        self.make_file(self.build)
        self.mount(args=['--lease', LEASE])
        expected = self.leave_half_applied_redo(self.change)
        result = subprocess.run(
            [self.ctl] + self.lock_args() + ['run', '--shared', self.h5path, '--',
             '/usr/bin/python3', '-c',
             'import h5py, sys; f = h5py.File(sys.argv[1], "r"); print(int(f["d"][5]), sorted(f["g"]))',
             self.h5path],
            capture_output=True, text=True, timeout=60)
        self.assertEqual(result.returncode, 0, result.stderr)
        self.assertEqual(result.stdout.strip(), "-15 ['new']")
        self.assertFalse(os.path.exists(self.redo()))
        self.assertEqual(self.snapshot(), expected)

    def exclusive_holder(self, label):
        status = subprocess.run([self.ctl, '--redis', self.redis.url(), 'status', '--json', self.h5path],
                                capture_output=True, text=True, timeout=10)
        self.assertEqual(status.returncode, 0, status.stderr)
        holders = json.loads(status.stdout).get('holders', [])
        return any(h.get('mode') == 'X' and h.get('mount') == label for h in holders)

    def kill_in_commit(self, writer, command, delay):
        """Runs `command` (a write through `writer`), SIGKILLs the writer's
        daemon `delay` seconds after it holds the lock exclusive (or after the
        command ended), and cleans up the dead mount."""
        proc = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            for _ in harness.deadline_loop(60):
                if self.exclusive_holder(writer.mountpoint) or proc.poll() is not None:
                    break
            time.sleep(delay)  # a later moment of the same commit: what it reaches is not assumed
            writer.proc.send_signal(signal.SIGKILL)
            writer.proc.wait(10)
        finally:
            subprocess.run(['fusermount3', '-uz', writer.mountpoint], capture_output=True)
            proc.wait(60)
            writer.stop(check_status=False)

    def test_daemon_killed_holding_the_lock(self):
        old, new = pattern(0), pattern(1)
        old_sha, new_sha = hashlib.sha256(old).hexdigest(), hashlib.sha256(new).hexdigest()
        self.make_file(lambda f: f.create_dataset('big', data=old))
        src = self.src('new.bin', new.tobytes())
        reader = self.mount(args=['--lease', LEASE], name='reader')
        outcomes = []
        for delay in (0.0, 0.02, 0.05, 0.1, 0.2):
            writer = self.mount(args=['--lease', LEASE], name='writer')
            self.kill_in_commit(writer, ['cp', src, os.path.join(writer.mountpoint, 'big')], delay)
            start = time.monotonic()
            got = hashlib.sha256(self.read_in_process(os.path.join(reader.mountpoint, 'big'))).hexdigest()
            waited = time.monotonic() - start
            self.assertIn(got, (old_sha, new_sha), 'after a kill %.2fs into the commit, a mixture' % delay)
            self.assertLess(waited, float(LEASE) + 5, 'the reader waited %.1fs for a dead writer' % waited)
            self.assertFalse(os.path.exists(self.redo()))
            outcomes.append('new' if got == new_sha else 'old')
        print('  outcomes by delay: %s' % outcomes)
        self.check_h5dump(self.h5path)

    def test_daemon_killed_while_appending(self):
        # Appends to a chunked dataset allocate new chunks past the file's end
        # and change its chunk index: killed at any moment, the rows are all
        # there or none are, and what was committed before stays.
        row = 4096
        self.make_file(lambda f: f.create_dataset(
            'app', data=np.zeros((1, row), 'u1'), maxshape=(None, row), chunks=(4, row)))
        reader = self.mount(args=['--lease', LEASE], name='reader')
        expected_rows = 1
        for round_ in range(8):
            rows = 3 + round_ * 5
            block = (np.arange(rows * row, dtype=np.uint32) * (round_ + 7)).astype('u1')
            src = self.src('rows%d' % round_, block.tobytes())
            writer = self.mount(args=['--lease', LEASE], name='writer%d' % round_)
            self.kill_in_commit(writer, ['sh', '-c', 'cat "$0" >> "$1"', src,
                                         os.path.join(writer.mountpoint, 'app')], 0.002 * round_)
            got = self.read_in_process(os.path.join(reader.mountpoint, 'app'))
            self.assertIn(len(got), (expected_rows * row, (expected_rows + rows) * row),
                          'round %d: %d bytes' % (round_, len(got)))
            if len(got) > expected_rows * row:
                self.assertEqual(got[expected_rows * row:], block.tobytes(), 'round %d: the new rows' % round_)
                expected_rows += rows
            self.assertEqual(got[:row], bytes(row), 'round %d: the first row' % round_)
            # and the mount that stays appends after it
            more = bytes([round_ + 1]) * row
            with open(os.path.join(reader.mountpoint, 'app'), 'ab') as out:
                out.write(more)
            expected_rows += 1
            got = self.read_in_process(os.path.join(reader.mountpoint, 'app'))
            self.assertEqual(len(got), expected_rows * row, 'round %d' % round_)
            self.assertEqual(got[-row:], more, 'round %d: the last row' % round_)
        self.check_h5dump(self.h5path)


if __name__ == '__main__':
    wh.main()
