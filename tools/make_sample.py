#!/usr/bin/python3
"""Write a small HDF5 file to try h5swmrfs on (the README's quick start).

Usage: make_sample.py OUT.h5

    /                       attrs: title, version
    /run1/                  attrs: operator, started
    /run1/temps             float32 (10,)  temperatures in degrees C (`od -f` reads them)
    /run1/grid              int32 (4, 6)   a 2-D counter grid
    /run2/temps             float64 (5,)
    /latest -> /run2        soft link
"""

import sys

import h5py
import numpy as np


def make_sample(out):
    with h5py.File(out, 'w') as f:
        f.attrs['title'] = 'h5swmrfs sample'
        f.attrs['version'] = 1

        run1 = f.create_group('run1')
        run1.attrs['operator'] = 'ada'
        run1.attrs['started'] = '2024-01-01T12:00:00'
        temps = run1.create_dataset(
            'temps', data=np.array([20.5, 21.0, 21.25, 21.5, 22.0, 22.75,
                                    23.0, 22.5, 22.0, 21.5], dtype='<f4'))
        temps.attrs['units'] = 'degC'
        temps.attrs['sample_rate_hz'] = np.float32(0.5)
        grid = run1.create_dataset(
            'grid', data=np.arange(24, dtype='<i4').reshape(4, 6))
        grid.attrs['axes'] = 'row,col'

        run2 = f.create_group('run2')
        run2.create_dataset('temps', data=np.array([19.0, 19.5, 20.0, 20.5,
                                                    21.0]))
        f['latest'] = h5py.SoftLink('/run2')


def main(argv):
    if len(argv) != 2 or argv[1].startswith('-'):
        sys.stderr.write('usage: make_sample.py OUT.h5\n')
        return 2
    make_sample(argv[1])
    return 0


if __name__ == '__main__':
    sys.exit(main(sys.argv))
