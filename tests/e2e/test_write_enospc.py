#!/usr/bin/python3
"""A disk that fills up (SPEC.md section 5): FILE.h5 lives on an 8 MiB
tmpfs; a cp bigger than the space fails with ENOSPC (at write or at
close), everything committed before stays readable with h5py and h5dump,
and the mount keeps working."""

import errno
import os
import subprocess

import h5py
import numpy as np

import write_harness as wh

SIZE = 8 << 20
KEEP = np.arange(25000, dtype='<i4')  # 100 kB


def build(f):
    f.create_dataset('keep', data=KEEP)
    f.create_dataset('grow', data=np.arange(100, dtype='u1'),
                     maxshape=(None,), chunks=(4096,))
    f.attrs['note'] = 'before'


class Enospc(wh.WriteTestCase):

    def setUp(self):
        super().setUp()
        self.fsdir = os.path.join(self.tmp, 'small')
        os.mkdir(self.fsdir)
        result = subprocess.run(['mount', '-t', 'tmpfs', '-o',
                                 'size=%d' % SIZE, 'tmpfs', self.fsdir],
                                capture_output=True, text=True)
        if result.returncode != 0:
            self.fail('cannot mount a tmpfs: ' + result.stderr.strip())
        self.addCleanup(subprocess.run, ['umount', self.fsdir], check=True)
        self.addCleanup(wh.on_termination(
            lambda: subprocess.run(['umount', '-l', self.fsdir])))
        self.make_file(build, path=os.path.join(self.fsdir, 'file.h5'))
        self.mount(errors=True)

    def check_committed(self, extra):
        """keep, grow, the attribute and extra {name: bytes} read back."""
        want = dict(extra, keep=KEEP.tobytes(), grow=bytes(range(100)))
        with self.h5() as f:
            self.assertEqual(f.attrs['note'], 'before')
            for name, data in want.items():
                got = f[name][()].tobytes()
                self.assertTrue(got == data, '%s: %d bytes, want %d%s' % (
                    name, len(got), len(data), '' if len(got) != len(data)
                    else ' (content differs)'))
        for name, data in want.items():
            got = self.cat(self.p(name))
            self.assertTrue(got == data, 'cat %s: %d bytes, want %d' % (
                name, len(got), len(data)))

    def commit_small(self):
        """A first commit that fits; returns its bytes."""
        small = os.urandom(200000)
        self.assert_ok(self.run_tool('cp', self.src('small', small),
                                     self.p('small')))
        self.check_committed({'small': small})
        return small

    def huge(self):
        return self.src('huge', os.urandom(2 * SIZE))

    def test_statfs_is_the_tmpfs(self):
        st = os.statvfs(self.mnt)
        self.assertLessEqual(st.f_blocks * st.f_frsize, SIZE,
                             'statfs reports the filesystem of FILE.h5')

    def test_new_dataset_too_big(self):
        small = self.commit_small()
        self.assert_fails(self.run_tool('cp', self.huge(), self.p('huge')),
                          errno.ENOSPC)
        self.check_committed({'small': small})
        with self.h5() as f:
            ds = f.get('huge')
            self.assertTrue(ds is None or ds.size == 0,
                            'half-written huge: %r' % ds)
        self.unmount_all()
        with h5py.File(self.h5path, 'r') as f:
            self.assertEqual(f['small'][()].tobytes(), small)

    def test_replace_too_big_keeps_old(self):
        small = self.commit_small()
        self.assert_fails(self.run_tool('cp', self.huge(), self.p('grow')),
                          errno.ENOSPC)
        self.check_committed({'small': small})

    def test_append_too_big_keeps_old(self):
        small = self.commit_small()
        self.assert_fails(self.sh('cat "$1" >> "$2"', self.huge(),
                                  self.p('small')), errno.ENOSPC)
        self.check_committed({'small': small})


if __name__ == '__main__':
    wh.main()
