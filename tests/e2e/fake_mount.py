"""A stand-in for the daemon that checks the e2e tests themselves: it writes
what the mount must show (expect.py) into a plain directory, so that every
test must pass against it. Used when H5SWMRFS_E2E_SELFTEST=1; needs root
(bind mounts stand in for directory hard links) and user xattrs on the
temp directory's filesystem.
"""

import os
import subprocess

import numpy as np

import expect


def ideal_attr_value(check):
    """One value that AttrCheck.check accepts."""
    value = check.value
    if isinstance(value, str):
        return value.encode('utf-8')
    if isinstance(value, (bytes, np.bytes_)):
        return bytes(value).rstrip(b'\0')
    array = np.asarray(value)
    if array.dtype == np.bool_:
        return str(int(array)).encode()
    if array.dtype.kind in 'iu':
        return ','.join(str(int(v)) for v in array.ravel()).encode()
    if array.dtype.kind == 'f':
        return ','.join(repr(float(v)) for v in array.ravel()).encode()
    return array.astype(expect.native(array.dtype)).tobytes()


def ideal_dtype_text(dset):
    text = expect.dtype_text(dset)
    if isinstance(text, str):
        return text
    base, shape = expect.native(dset.dtype).subdtype
    return '%s%s' % (str(shape).replace(' ', ''), base.str)


class FakeMount:
    def __init__(self, entries, mountpoint, args=()):
        self.entries = entries
        self.mountpoint = mountpoint
        self.read_only = 'ro' in args
        self.binds = []

    def start(self):
        first_path = {}
        file_mode = 0o444 if self.read_only else 0o644
        dir_mode = 0o555 if self.read_only else 0o755
        groups = []
        for entry in self.entries:
            path = os.path.join(self.mountpoint, entry.path.lstrip('/'))
            addr = expect.address(entry.obj) if entry.obj is not None \
                else None
            if entry.kind == 'group':
                if addr in first_path and entry.path != '/':
                    os.mkdir(path)
                    self.binds.append((first_path[addr], path))
                else:
                    first_path[addr] = path
                    if entry.path != '/':
                        os.mkdir(path)
                    self.set_attrs(path, entry.obj)
                    groups.append(path)
            elif entry.kind == 'dataset':
                if addr in first_path:
                    os.link(first_path[addr], path)
                    continue
                first_path[addr] = path
                with open(path, 'wb') as out:
                    out.write(expect.dataset_bytes(entry.obj))
                xattrs = expect.dataset_xattrs(entry.obj)
                xattrs['user.h5.dtype'] = ideal_dtype_text(entry.obj)
                for name, value in xattrs.items():
                    os.setxattr(path, name, value.encode())
                self.set_attrs(path, entry.obj)
                os.chmod(path, file_mode)
            elif entry.kind == 'datatype':
                with open(path, 'wb'):
                    pass
                os.chmod(path, 0o444)
            elif entry.kind == 'soft':
                target = entry.target
                if target.startswith('/'):
                    target = expect.relative_link_target(entry.path, target)
                os.symlink(target, path)
            elif entry.kind == 'external':
                os.symlink('%s::%s' % entry.target, path)
        for source, target in self.binds:
            subprocess.run(['mount', '--bind', source, target], check=True)
        for path in groups:
            os.chmod(path, dir_mode)
        return self

    @staticmethod
    def set_attrs(path, obj):
        for name, check in expect.attribute_checks(obj).items():
            os.setxattr(path, name, ideal_attr_value(check))

    def stop(self):
        for _, target in reversed(self.binds):
            subprocess.run(['umount', target], check=True)
        for root, dirs, _ in os.walk(self.mountpoint):
            for name in dirs:
                os.chmod(os.path.join(root, name), 0o755)
        return []

    def log_text(self):
        return ''
