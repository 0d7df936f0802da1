"""NumPy type strings for numpy_type(), and the check that h5py reads what they describe.
Run with /usr/bin/python3:
  dtypes.py list        prints  ID<TAB>HEX(type string)  for every case
  dtypes.py check FILE  FILE holds /cases/ID (made with numpy_type) and /raw/ID (its bytes as u1);
                        prints  ID<TAB>ok  or  ID<TAB>what differs"""
import ast
import sys

import h5py
import numpy as np

inner = np.dtype([('x', '<f4'), ('y', '>i2')])
names = np.dtype([("it's", '<i4'), ('say "hi"', '>u2'), ('both \' and "', 'u1'), ('caf\u00e9', '<f8'),
                  ('\u65e5\u672c', 'i1'), ('tab\there', '<i2'), ('new\nline', 'u1'), ('back\\slash', '<f4'),
                  ('\x85nel', 'i1'), ('zero\u200bwidth', 'u1'), ('emoji \U0001F600', '<u2')])
padded = np.dtype({'names': ['a', 'b'], 'formats': ['<i4', '<f8'], 'offsets': [0, 8], 'itemsize': 24})
nested = np.dtype({'names': ['p', 'n', 'c', 'flag'],
                   'formats': [inner, ('<i2', (2, 3)), (inner, (2,)), '?'],
                   'offsets': [4, 16, 32, 60], 'itemsize': 64})

simple_dtypes = ['<i1', '|i1', '<i2', '>i2', '<i4', '>i4', '<i8', '>i8', '|u1', '<u2', '>u2', '<u4', '>u4',
                 '<u8', '>u8', '<f2', '>f2', '<f4', '>f4', '<f8', '>f8', '<f16', '>f16', '|b1', '<c8', '>c8',
                 '<c16', '>c16', '<c32', '|S1', '|S5', '|V1', '|V8', '<M8[ns]', '>M8[D]', '<m8[s]']

cases = []
cases += [np.dtype(s).str for s in simple_dtypes]
cases += ['(3,)<i4', '(2, 3)<f8', '(2,)>u2', '(4,)|S3', '(2, 2, 2)|b1']
cases += [str(dt.descr) for dt in (inner, names, padded, nested, np.dtype([('z', '<c8'), ('w', '>c16')]))]
cases += ["[('a', '<i4'), ('', '|V4'), ('b', '<f8', (2,))]", "([('a', '<i4'), ('b', '>f2')], (3,))",
          "[('a', [('b', [('c', '>i8')]), ('', '|V2')])]",
          "[('a', '(2,)<i4')]", "('<u2', (2, 3))"]
cases += ['float32', 'int16', 'uint8', 'float64', 'f8', 'i4', 'u1', 'S16', 'bool', 'float16', 'int8', 'int32',
          'int64', 'uint16', 'uint32', 'uint64', 'complex64', 'complex128', 'double', 'single', 'half', 'e',
          'f', 'd', '?', 'b', 'B', 'h', 'H', 'i', 'I', 'q', 'Q', 'F', 'D', 'b1', '=i4', '|f8', ' <i4 ', 'a7']


def expected(text):
    text = text.strip()
    if text[0] == '[' or (text[0] == '(' and text[1:].lstrip()[:1] in ('"', "'", '[')):
        return np.lib.format.descr_to_dtype(ast.literal_eval(text))
    return np.dtype(text)


def same_bytes(a, b):
    if a.dtype.names:
        return all(same_bytes(a[n], b[n]) for n in a.dtype.names)
    return a.tobytes() == b.tobytes()


def check(path):
    with h5py.File(path, 'r') as f:
        for i, text in enumerate(cases):
            ds, raw = f['cases'][str(i)], f['raw'][str(i)][...].tobytes()
            want = expected(text)
            if ds.dtype != want:
                print(f'{i}\tdtype {ds.dtype!r} for {text!r}, numpy says {want!r}')
                continue
            got = ds[...]
            exp = np.frombuffer(raw, dtype=want).reshape(ds.shape + want.shape)
            print(f'{i}\t' + ('ok' if same_bytes(got, exp) else f'values differ for {text!r}'))


if sys.argv[1] == 'list':
    for i, text in enumerate(cases):
        print(f'{i}\t{text.encode().hex()}')
else:
    check(sys.argv[2])
