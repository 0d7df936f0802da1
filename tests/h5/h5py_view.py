"""What h5py makes of an HDF5 file, for the h5 tests to compare byte_form() and
attribute_value() with. Run with /usr/bin/python3 (h5py 3.7, numpy).

  h5py_view.py datasets FILE
      One line per dataset, tab-separated:
        PATH  DTYPE  HEX  HOW
      DTYPE  user.h5.dtype as SPEC §4 defines it from h5py's ds.dtype, in this host's order
             (numpy metadata left out, compound fields in offset order, arrays of
             arrays as one array)
      HEX    the bytes of ds[...] read in this host's order; for variable-length strings
             every element's bytes followed by a newline
      HOW    'h5py', or 'raw' when h5py cannot read it and the file's own bytes are given
      or     PATH  ERROR  message   when h5py has no numpy dtype for it

  h5py_view.py attributes FILE OURS
      OURS has lines HEX(object path) HEX(attribute name) HEX(value); prints for each line
        HEX(object path)  HEX(attribute name)  OK | reason it disagrees with h5py
"""
import sys

import h5py
import numpy as np


def without_metadata(descr):
    """numpy's descr with the (str, metadata) pairs h5py's string and enum types leave in it."""
    if isinstance(descr, str):
        return descr
    if isinstance(descr, tuple) and len(descr) == 2 and isinstance(descr[1], dict):
        return descr[0]
    if isinstance(descr, tuple):  # (base, shape) of a subarray
        return (without_metadata(descr[0]), descr[1])
    return [(f[0], without_metadata(f[1])) + tuple(f[2:]) for f in descr]


def canonical(dt):
    """The same layout as numpy would spell it if it could: fields in offset order (its descr
    refuses any other) and arrays of arrays as one array (numpy keeps h5py's nesting)."""
    if dt.subdtype is not None:
        base, shape = dt.subdtype
        base = canonical(base)
        if base.subdtype is not None:
            base, shape = base.subdtype[0], shape + base.subdtype[1]
        return np.dtype((base, shape))
    if dt.names is None:
        return dt
    names = sorted(dt.names, key=lambda n: dt.fields[n][1])
    return np.dtype({'names': names,
                     'formats': [canonical(dt.fields[n][0]) for n in names],
                     'offsets': [dt.fields[n][1] for n in names],
                     'itemsize': dt.itemsize})


def contract_dtype(dt):
    native = canonical(dt.newbyteorder('='))
    if native.names is None and native.subdtype is None:
        return native.str
    if native.names is None:
        base, shape = native.subdtype
        if base.names is None:
            return str(shape) + base.str
    return str(without_metadata(np.core._internal._array_descr(native)))


def dataset_line(path, ds):
    try:
        dt = ds.dtype
    except Exception as e:  # noqa: BLE001 - any h5py failure is the answer
        return f'{path}\tERROR\t{type(e).__name__}: {e}'
    try:
        dtype = contract_dtype(dt)
    except Exception as e:  # noqa: BLE001
        return f'{path}\tERROR\tdtype {dt!r}: {e}'
    vlen = h5py.check_string_dtype(dt)
    if vlen is not None and vlen.length is None:
        values = np.asarray(ds[...]).ravel()
        data = b''.join((v.encode() if isinstance(v, str) else v) + b'\n' for v in values)
        return f'{path}\t{dtype}\t{data.hex()}\th5py'
    native = dt.newbyteorder('=')
    try:
        # What ds[...] does (zeros, then H5Dread into py_create(dtype)), with the dtype in this
        # host's order; astype() would leave compound padding uninitialised.
        arr = np.zeros(ds.shape, dtype=native)
        ds.id.read(h5py.h5s.ALL, h5py.h5s.ALL, arr, mtype=h5py.h5t.py_create(native))
        how = 'h5py'
    except Exception:  # noqa: BLE001 - HDF5 converts some types (bitfields) only to the file's order
        try:
            stored = np.zeros(ds.shape, dtype=dt)
            ds.id.read(h5py.h5s.ALL, h5py.h5s.ALL, stored, mtype=h5py.h5t.py_create(dt))
            arr = np.zeros(ds.shape, dtype=native)
            arr[...] = stored
            how = 'h5py'
        except Exception:  # noqa: BLE001 - h5py cannot convert it; give the stored bytes
            ftype = ds.id.get_type()
            arr = np.zeros(ds.shape, dtype=f'|V{ftype.get_size()}')
            ds.id.read(h5py.h5s.ALL, h5py.h5s.ALL, arr, mtype=ftype)
            how = 'raw'
    data = arr.tobytes()
    return f'{path}\t{dtype}\t{data.hex()}\t{how}'


def datasets(filename):
    with h5py.File(filename, 'r') as f:
        lines = []
        f.visititems(lambda name, obj: lines.append(dataset_line('/' + name, obj))
                     if isinstance(obj, h5py.Dataset) else None)
        print('\n'.join(lines))


def same_numbers(parsed, expected):
    a = np.asarray(parsed).ravel()
    b = np.asarray(expected).ravel()
    for x, y in zip(a, b):
        if x == y or (x != x and y != y):  # equal, or both nan
            continue
        return False
    return True


def native_bytes(obj, name):
    """The attribute read as h5py reads it but in this host's order, padding left zero."""
    attr = h5py.h5a.open(obj.id, name.encode())
    native = attr.dtype.newbyteorder('=')
    arr = np.zeros(attr.shape, dtype=native)
    attr.read(arr, mtype=h5py.h5t.py_create(native))
    return arr.tobytes()


def shortest(parts, values):
    """None, or the first of our texts longer than numpy's shortest round-trip spelling."""
    for part, value in zip(parts, values):
        if np.isfinite(value):
            theirs = min(np.format_float_positional(value, unique=True, trim='-'),
                         np.format_float_scientific(value, unique=True, trim='-'), key=len)
            if len(part) > len(theirs):
                return f'{part} is longer than numpy\'s {theirs}'
    return None


def check_value(value, ours, raw):
    if isinstance(value, h5py.Empty):
        return 'OK' if ours == b'' else f'empty attribute gave {ours!r}'
    if isinstance(value, (str, bytes)):
        expected = value.encode() if isinstance(value, str) else bytes(value)
        return 'OK' if ours == expected else f'want {expected!r} got {ours!r}'
    arr = np.asarray(value)
    flat = arr.ravel()
    if arr.size == 0:
        return 'OK' if ours == b'' else f'no elements gave {ours!r}'
    kind = arr.dtype.kind
    if kind in 'SUO':
        expected = b','.join(v.encode() if isinstance(v, str) else bytes(v) for v in flat)
        return 'OK' if ours == expected else f'want {expected!r} got {ours!r}'
    if kind in 'V':
        expected = raw()
        return 'OK' if ours == expected else f'want raw {expected.hex()} got {ours.hex()}'
    parts = ours.decode('ascii').split(',')
    if len(parts) != flat.size:
        return f'want {flat.size} values got {ours!r}'
    if kind == 'b':
        expected = ['1' if v else '0' for v in flat]
        return 'OK' if parts == expected else f'want {expected} got {parts}'
    if kind in 'iu':
        expected = [str(int(v)) for v in flat]
        return 'OK' if parts == expected else f'want {expected} got {parts}'
    if kind == 'f':
        parsed = [arr.dtype.type(p) for p in parts]
        if not same_numbers(parsed, flat):
            return f'{parts} does not read back as {flat!r}'
        return shortest(parts, flat) or 'OK'
    if kind == 'c':
        parsed = [arr.dtype.type(complex(p)) for p in parts]
        reals = same_numbers([p.real for p in parsed], [v.real for v in flat])
        imags = same_numbers([p.imag for p in parsed], [v.imag for v in flat])
        return 'OK' if reals and imags else f'{parts} does not read back as {flat!r}'
    return f'unexpected numpy kind {kind}'


def attributes(filename, ours_file):
    with h5py.File(filename, 'r') as f, open(ours_file) as ours:
        for line in ours:
            path_hex, name_hex, value_hex = line.rstrip('\n').split('\t')
            path = bytes.fromhex(path_hex).decode()
            name = bytes.fromhex(name_hex).decode()
            try:
                obj = f[path]
                verdict = check_value(obj.attrs[name], bytes.fromhex(value_hex),
                                      lambda: native_bytes(obj, name))
            except Exception as e:  # noqa: BLE001
                verdict = f'h5py failed: {type(e).__name__}: {e}'
            print(f'{path_hex}\t{name_hex}\t{verdict}')


if __name__ == '__main__':
    if sys.argv[1] == 'datasets':
        datasets(sys.argv[2])
    else:
        attributes(sys.argv[2], sys.argv[3])
