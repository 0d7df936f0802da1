"""What h5swmrfs must show for an HDF5 file, computed with h5py: the oracle
of the e2e tests (SPEC.md sections 2-4).
"""

import calendar
import math
import re
import subprocess
import time

import h5py
import numpy as np
from h5py import h5d, h5o, h5t

# HDF5 filter id -> its name in user.h5.filters.
FILTER_NAMES = {1: 'deflate', 2: 'shuffle', 3: 'fletcher32', 4: 'szip',
                5: 'nbit', 6: 'scaleoffset'}
LAYOUT_NAMES = {h5d.COMPACT: 'compact', h5d.CONTIGUOUS: 'contiguous',
                h5d.CHUNKED: 'chunked', h5d.VIRTUAL: 'virtual'}

# Whole-string patterns (fullmatch) of decimal number text.
INT_TEXT = re.compile(r'[+-]?[0-9]+')
FLOAT_TEXT = re.compile(r'[+-]?([0-9]+\.?[0-9]*|\.[0-9]+)([eE][+-]?[0-9]+)?'
                        r'|[+-]?(inf|infinity|nan)', re.IGNORECASE)


# -- the tree ---------------------------------------------------------------

class Entry:
    """One link of the file, as the mount must show it."""

    def __init__(self, path, kind, target=None, obj=None):
        self.path = path          # HDF5 path, '/' for the root
        self.kind = kind          # group dataset datatype soft external
        self.target = target      # soft: HDF5 path; external: (file, path)
        self.obj = obj            # h5py object for hard links

    def __repr__(self):
        return 'Entry(%r, %r)' % (self.path, self.kind)


def address(obj):
    """The object's address in its file: equal for hard links to it."""
    return h5o.get_info(obj.id).addr


def walk(f):
    """Every link reachable from the root, depth first, root included;
    hard links to one object appear under each of their names."""
    entries = [Entry('/', 'group', obj=f['/'])]

    def visit(group, prefix, seen):
        for name in group:
            path = prefix + name
            link = group.get(name, getlink=True)
            if isinstance(link, h5py.SoftLink):
                entries.append(Entry(path, 'soft', target=link.path))
            elif isinstance(link, h5py.ExternalLink):
                entries.append(Entry(path, 'external',
                                     target=(link.filename, link.path)))
            else:
                obj = group[name]
                if isinstance(obj, h5py.Group):
                    entries.append(Entry(path, 'group', obj=obj))
                    if address(obj) not in seen:  # no cycles
                        visit(obj, path + '/', seen | {address(obj)})
                elif isinstance(obj, h5py.Dataset):
                    entries.append(Entry(path, 'dataset', obj=obj))
                else:
                    entries.append(Entry(path, 'datatype', obj=obj))

    visit(f, '/', {address(f)})
    return entries


def relative_link_target(link_path, target):
    """The symlink text for a soft link at link_path (an HDF5 path) whose
    absolute HDF5 target is target: relative to the link's directory."""
    link_dir = link_path.rsplit('/', 1)[0].strip('/').split('/')
    link_dir = [part for part in link_dir if part]
    parts = [part for part in target.split('/') if part]
    common = 0
    while common < min(len(link_dir), len(parts)) and \
            link_dir[common] == parts[common]:
        common += 1
    up = ['..'] * (len(link_dir) - common)
    return '/'.join(up + parts[common:]) or '.'


def tracked_mtime(h5file, path):
    """The object's HDF5 modification time (epoch seconds), or None when
    the file does not track it. h5py cannot tell; h5ls -v can."""
    result = subprocess.run(['h5ls', '-v', '-g', h5file + path],
                            capture_output=True, check=True)
    for line in result.stdout.decode('utf-8', 'replace').splitlines():
        line = line.strip()
        if line.startswith('Modified:'):
            stamp = line[len('Modified:'):].strip()
            return calendar.timegm(time.strptime(stamp,
                                                 '%Y-%m-%d %H:%M:%S %Z'))
    return None


# -- a dataset's bytes ------------------------------------------------------

def native(dtype):
    """dtype with this host's byte order, recursively; offsets, itemsize,
    subarray shapes kept, h5py's metadata dropped."""
    if dtype.subdtype is not None:
        base, shape = dtype.subdtype
        return np.dtype((native(base), shape))
    if dtype.names is not None:
        return np.dtype({'names': list(dtype.names),
                         'formats': [native(dtype.fields[n][0])
                                     for n in dtype.names],
                         'offsets': [dtype.fields[n][1] for n in dtype.names],
                         'itemsize': dtype.itemsize})
    # Through .str to drop h5py's metadata (string encoding, enum names),
    # which would otherwise show in str(descr).
    return np.dtype(dtype.newbyteorder('=').str)


def significant(dtype):
    """Which bytes of one element carry data (not padding): a bool list."""
    if dtype.subdtype is not None:
        base, shape = dtype.subdtype
        return significant(base) * int(np.prod(shape))
    if dtype.names is not None:
        mask = [False] * dtype.itemsize
        for name in dtype.names:
            field, offset = dtype.fields[name][:2]
            mask[offset:offset + field.itemsize] = significant(field)
        return mask
    if dtype.kind == 'f' and dtype.itemsize > 8 and \
            np.finfo(dtype).nmant == 63:  # x87 80-bit in 12 or 16 bytes
        return [True] * 10 + [False] * (dtype.itemsize - 10)
    return [True] * dtype.itemsize


def is_vlen_string(dset):
    return h5py.check_string_dtype(dset.dtype) is not None and \
        dset.dtype.kind == 'O'


def dataset_bytes(dset):
    """The bytes `cat` must give for a dataset (SPEC.md section 3)."""
    if is_vlen_string(dset):
        values = dset[()]
        if dset.shape == ():
            values = [values]
        return b''.join((v if isinstance(v, bytes) else v.encode('utf-8'))
                        + b'\n' for v in np.ravel(values))
    data = np.array(dset[()], order='C')
    return data.astype(native(data.dtype)).tobytes()


def element_layout(dset):
    """(itemsize, significant-byte mask) of one element of the byte form;
    (1, None) for vlen strings."""
    if is_vlen_string(dset):
        return 1, None
    dtype = native(dset.dtype)
    return dtype.itemsize, significant(dtype)


def row_bytes(dset):
    """Bytes of one row (the last axis) of the byte form, or of one element
    for 0-D and 1-D datasets."""
    itemsize, _ = element_layout(dset)
    if len(dset.shape) >= 2:
        return itemsize * dset.shape[-1]
    return itemsize


def bytes_equal(expected, got, itemsize, mask):
    if len(expected) != len(got):
        return False
    if mask is None or all(mask):
        return expected == got
    exp = np.frombuffer(expected, np.uint8).reshape(-1, itemsize)
    act = np.frombuffer(got, np.uint8).reshape(-1, itemsize)
    keep = np.array(mask)
    return np.array_equal(exp[:, keep], act[:, keep])


def slice_equal(expected_all, offset, got, itemsize, mask):
    """Compare got with expected_all[offset:offset+len(got)]; padding bytes
    (by position in their element) are ignored."""
    want = expected_all[offset:offset + len(got)]
    if len(want) != len(got):
        return False
    if mask is None or all(mask):
        return want == got
    return all(want[i] == got[i] or not mask[(offset + i) % itemsize]
               for i in range(len(got)))


# -- metadata xattrs --------------------------------------------------------

def dtype_text(dset):
    """Expected user.h5.dtype, or a compiled regex when numpy's notation
    leaves spacing open (subarray shapes)."""
    if is_vlen_string(dset):
        return '|O'
    dtype = native(dset.dtype)
    if dtype.subdtype is not None:
        base, shape = dtype.subdtype
        dims = r',\s?'.join(str(n) for n in shape)
        if len(shape) == 1:
            dims += ','
        return re.compile(r'\(%s\)%s' % (dims, re.escape(base.str)))
    if dtype.names is not None:
        return str(dtype.descr)
    return dtype.str


def shape_text(shape):
    return ','.join('inf' if n is None else str(n) for n in shape)


def layout_text(dset):
    dcpl = dset.id.get_create_plist()
    if dcpl.get_external_count() > 0:
        return 'external'
    return LAYOUT_NAMES[dcpl.get_layout()]


def filters_text(dset):
    dcpl = dset.id.get_create_plist()
    names = []
    for i in range(dcpl.get_nfilters()):
        code, _flags, values, _name = dcpl.get_filter(i)
        name = FILTER_NAMES.get(code, 'filter%d' % code)
        if code == 1:
            name += '=%d' % values[0]
        names.append(name)
    return ','.join(names)


def dataset_xattrs(dset):
    """{xattr name: expected str or compiled regex} of user.h5.*."""
    return {
        'user.h5.dtype': dtype_text(dset),
        'user.h5.shape': shape_text(dset.shape),
        'user.h5.maxshape': shape_text(dset.maxshape or ()),
        'user.h5.chunks': shape_text(dset.chunks or ()),
        'user.h5.layout': layout_text(dset),
        'user.h5.filters': filters_text(dset),
    }


# -- HDF5 attributes as user.NAME -------------------------------------------

class AttrCheck:
    """How one attribute's xattr value is judged.

    check(value) returns None if value is right, else a message.
    """

    def __init__(self, obj, name):
        self.name = name
        attr = obj.attrs.get_id(name)
        self.type = attr.get_type()
        self.value = obj.attrs[name]
        self.dtype = attr.dtype

    def describe(self):
        return '%s %r' % (self.dtype, self.value)

    def check(self, got):
        tclass = self.type.get_class()
        if tclass == h5t.STRING:
            return self._check_string(got)
        if tclass == h5t.ENUM and self.dtype == np.bool_:
            return self._check_bool(got)
        if tclass in (h5t.INTEGER, h5t.FLOAT):
            return self._check_numbers(got)
        return self._check_raw(got)

    def _check_string(self, got):
        value = self.value
        want = value.encode('utf-8') if isinstance(value, str) else \
            bytes(value).rstrip(b'\0')
        if got != want:
            return 'string: expected %r, got %r' % (want, got)
        return None

    def _check_bool(self, got):
        # An h5py bool is an HDF5 enum of int8; the spec does not name the
        # form, so accept its base integer as a number or as its raw byte.
        base = int(bool(self.value))
        if got in (str(base).encode(), bytes([base])):
            return None
        return 'bool: expected %r or %r, got %r' % (str(base).encode(),
                                                    bytes([base]), got)

    def _check_numbers(self, got):
        values = np.ravel(np.asarray(self.value))
        try:
            text = got.decode('ascii')
        except UnicodeDecodeError:
            return 'number: not ASCII text: %r' % got
        items = text.split(',')
        if len(items) != len(values):
            return 'number: expected %d comma-separated values (%s), ' \
                'got %r' % (len(values), ','.join(map(str, values)), text)
        for item, want in zip(items, values):
            kind = np.asarray(want).dtype.kind
            if kind in 'iu':
                if not INT_TEXT.fullmatch(item) or int(item) != int(want):
                    return 'integer: expected %d, got %r' % (want, item)
                continue
            if not FLOAT_TEXT.fullmatch(item):
                return 'float: %r is not decimal text (want %r)' % (item,
                                                                     want)
            parsed = want.dtype.type(item)
            same = (math.isnan(want) and math.isnan(parsed)) or \
                parsed == want
            if not same:
                return 'float: %r reads back as %r, expected %r (%s)' % (
                    item, parsed, want, want.dtype)
        return None

    def _check_raw(self, got):
        value = np.asarray(self.value)
        want = value.astype(native(value.dtype)).tobytes()
        if got != want:
            return 'raw bytes: expected %s, got %s' % (want.hex(' '),
                                                       got.hex(' '))
        return None


def attribute_checks(obj):
    """{xattr name: AttrCheck} for every HDF5 attribute of obj."""
    return {'user.' + name: AttrCheck(obj, name) for name in obj.attrs}
