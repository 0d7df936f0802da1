"""Self-checking content of the stress datasets.

Every dataset the stress tool writes holds whole 32-byte records, four
little-endian uint64 each:

    [key, version, index, check]

key      identifies the dataset incarnation (HDF5 path + incarnation number),
version  the write that put this record there (per writer, increasing),
index    the record's position in the dataset,
check    mix(key, version, index): a record damaged or cut together from two
         records does not pass.

A dataset's content is therefore fully described by its length and, for each
record, the version that wrote it (the *state*: runs of versions). Two
different states of one dataset differ in at least one record's version, so a
read that mixes two states differs from both in its bytes: the checker compares
what was read with the expected bytes of the states the read was allowed to
see, so any mixture of two versions is found — also in a `dd` read that starts
or ends inside a record, and in an append.
"""

import hashlib

import numpy as np

RECORD = 32          # bytes per record
WORDS = RECORD // 8
_M1 = np.uint64(0xbf58476d1ce4e5b9)
_M2 = np.uint64(0x94d049bb133111eb)
_G = np.uint64(0x9e3779b97f4a7c15)


def _mix(x):
    """splitmix64 finaliser on a uint64 array (wraps, no warnings)."""
    x = x ^ (x >> np.uint64(30))
    x = x * _M1
    x = x ^ (x >> np.uint64(27))
    x = x * _M2
    return x ^ (x >> np.uint64(31))


def key_of(path, incarnation=0):
    """The uint64 key of dataset path's incarnation (never 0)."""
    digest = hashlib.blake2b(('%s#%d' % (path, incarnation)).encode(),
                             digest_size=8).digest()
    return int.from_bytes(digest, 'little') | 1


def check_of(key, versions, indices):
    k = np.asarray(key, dtype=np.uint64)
    v = np.asarray(versions, dtype=np.uint64)
    i = np.asarray(indices, dtype=np.uint64)
    return _mix(k ^ _mix(v * _G + i + np.uint64(1)))


def make(key, versions, start=0):
    """bytes of records start.. with the given per-record versions."""
    versions = np.asarray(versions, dtype=np.uint64).reshape(-1)
    n = versions.size
    out = np.empty((n, WORDS), dtype='<u8')
    idx = np.arange(start, start + n, dtype=np.uint64)
    out[:, 0] = np.uint64(key)
    out[:, 1] = versions
    out[:, 2] = idx
    out[:, 3] = check_of(key, versions, idx)
    return out.tobytes()


def runs_to_versions(runs, lo, hi):
    """Per-record versions of records [lo, hi) from runs [(start, end, v)]."""
    out = np.zeros(max(0, hi - lo), dtype=np.uint64)
    for start, end, v in runs:
        a, b = max(start, lo), min(end, hi)
        if a < b:
            out[a - lo:b - lo] = v
    return out


def versions_to_runs(versions, start=0):
    """[(start, end, v)] of a per-record versions array."""
    versions = np.asarray(versions)
    if versions.size == 0:
        return []
    cut = np.flatnonzero(versions[1:] != versions[:-1]) + 1
    bounds = np.concatenate(([0], cut, [versions.size]))
    return [(int(start + a), int(start + b), int(versions[a]))
            for a, b in zip(bounds[:-1], bounds[1:])]


def state_bytes(key, runs, length, offset=0, count=None):
    """Bytes [offset, offset+count) of a state of `length` bytes (clipped to
    the state's length, like a read)."""
    end = length if count is None else min(length, offset + count)
    if offset >= end:
        return b''
    lo, hi = offset // RECORD, -(-end // RECORD)
    data = make(key, runs_to_versions(runs, lo, hi), lo)
    return data[offset - lo * RECORD:end - lo * RECORD]


def digest(data):
    return hashlib.sha1(data).hexdigest()


def decode(data, offset):
    """What the bytes read at `offset` say about themselves: the keys of the
    whole records, their version runs, and how many whole records fail their
    check or sit at the wrong index. For diagnostics and for choosing the
    dataset incarnation; the verdict comes from comparing with states."""
    first = -(-offset // RECORD)
    skip = first * RECORD - offset
    whole = (len(data) - skip) // RECORD if len(data) > skip else 0
    if whole <= 0:
        return {'keys': [], 'runs': [], 'bad': 0}
    arr = np.frombuffer(data, dtype='<u8', count=whole * WORDS,
                        offset=skip).reshape(whole, WORDS)
    keys, vers, idx, chk = arr[:, 0], arr[:, 1], arr[:, 2], arr[:, 3]
    good = (chk == check_of(keys, vers, idx)) & \
        (idx == np.arange(first, first + whole, dtype=np.uint64))
    ukeys = [int(k) for k in np.unique(keys[good])[:4]]
    return {'keys': ukeys,
            'runs': versions_to_runs(np.where(good, vers, 0), first)[:64],
            'bad': int(whole - int(good.sum()))}


def content_prefix_ok(state, got):
    """got is a proper prefix of the state's content (a write cut short)."""
    if len(got) >= state['len']:
        return False
    return got == content(state, 0, len(got))


# -- uniform content ---------------------------------------------------------
#
# The big dataset of the crossing workers (layout.BIG) holds one byte value
# repeated: what `cat | od | sort -u` of a hand-made test sees. A state of it
# is {'key', 'runs': [], 'len', 'fill'}; two consecutive versions never share
# a fill, so a read that mixes two versions has more than one byte value.

def fill_of(version):
    """The byte value of a uniform write at this version (1..255)."""
    return 1 + version % 255


def content(state, offset=0, count=None):
    """Bytes [offset, offset+count) of a state, records or uniform."""
    if state.get('fill') is None:
        return state_bytes(state['key'], state['runs'], state['len'],
                           offset, count)
    end = state['len'] if count is None else min(state['len'],
                                                 offset + count)
    return bytes([state['fill']]) * max(0, end - offset)


def fills(data, offset):
    """The byte-value runs [[start, end, value], ...] of bytes read at
    offset (at most 64 of them) and how many there are."""
    arr = np.frombuffer(data, dtype=np.uint8)
    if arr.size == 0:
        return {'fills': [], 'nfills': 0}
    cut = np.flatnonzero(arr[1:] != arr[:-1]) + 1
    bounds = np.concatenate(([0], cut, [arr.size]))
    runs = [[int(offset + a), int(offset + b), int(arr[a])]
            for a, b in zip(bounds[:-1], bounds[1:])]
    return {'fills': runs[:64], 'nfills': len(runs)}


def uniform_matches(state, off, req, n, dec):
    """A read of n bytes at off (req asked, None = to the end) whose byte
    runs are dec equals the uniform state."""
    end = state['len'] if req is None else min(state['len'], off + req)
    want = max(0, end - off)
    if n != want:
        return False
    return n == 0 or (dec.get('nfills') == 1 and
                      dec['fills'][0][2] == state['fill'])


# -- reads through a mapping ---------------------------------------------------
#
# A read through a mapping is a sequence of loads, not one version: the
# kernel may empty the mapped pages in the middle of a copy (a commit
# elsewhere), and the copy goes on with the pages as the next version fills
# them. So such a read is judged record by record, and a record that fails
# its check word by word (a load never mixes versions; a word is one load).

def record_map(data, offset):
    """The whole records of bytes read at a record-aligned offset: 'v', runs
    [start, end, version] of the records that pass their check at their
    index (version -1 where none does); 'zero', runs [start, end] of records
    that are all zero bytes (what a mapping shows past the end of the file,
    up to the end of that page); 'other', [index, w0, w1, w2, w3] of every
    other record (at most 256 of them; 'nother' counts them all); 'keys' of
    the good records."""
    if offset % RECORD:
        raise ValueError('a record map starts at a record')
    first = offset // RECORD
    whole = len(data) // RECORD
    out = {'v': [], 'zero': [], 'other': [], 'nother': 0, 'keys': []}
    if whole == 0:
        return out
    arr = np.frombuffer(data, dtype='<u8', count=whole * WORDS).reshape(
        whole, WORDS)
    keys, vers, idx, chk = arr[:, 0], arr[:, 1], arr[:, 2], arr[:, 3]
    good = (chk == check_of(keys, vers, idx)) & \
        (idx == np.arange(first, first + whole, dtype=np.uint64))
    zero = ~arr.any(axis=1)
    out['v'] = versions_to_runs(np.where(good, vers.astype(np.int64), -1),
                                first)
    out['zero'] = [[a, b] for a, b, z in versions_to_runs(zero, first) if z]
    other = np.flatnonzero(~good & ~zero)
    out['other'] = [[int(first + i)] + [int(w) for w in arr[i]]
                    for i in other[:256]]
    out['nother'] = int(other.size)
    out['keys'] = [int(k) for k in np.unique(keys[good])[:4]]
    return out


def byte_values(data):
    """The distinct byte values of data (a read of uniform content through
    a mapping: each byte is judged alone)."""
    return [int(v) for v in np.unique(np.frombuffer(data, dtype=np.uint8))]
