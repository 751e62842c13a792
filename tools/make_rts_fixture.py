#!/usr/bin/env python3
"""Writes the torchvision reference for our RTS rotate-and-scale (run once; needs torchvision).

For a few MNIST test digits and fixed (angle, scale) pairs, applies
torchvision.transforms.functional.affine to the 28x28 PIL image exactly as
RandomAffine(degrees=(-45, 45), scale=(0.7, 1.2)) does (translate 0, shear 0,
nearest, fill 0, default centre), and writes

  Tests/Fixtures/rts-digits-idx3-ubyte.gz    the input digits (N x 28 x 28)
  Tests/Fixtures/rts-expected-idx3-ubyte.gz  torchvision's output (N x 28 x 28)
  Tests/Fixtures/rts-cases.csv            index,mnist_index,angle,scale

Usage: python3 tools/make_rts_fixture.py [--data ../shared/data/mnist]
"""
import argparse, gzip, os, struct
import numpy as np
from PIL import Image
import torchvision
import torchvision.transforms.functional as F
from torchvision.transforms import InterpolationMode

CASES = [(0.0, 1.0), (45.0, 1.0), (-45.0, 1.0), (30.0, 0.7), (-30.0, 1.2), (12.345, 0.85),
         (-7.5, 1.1), (44.999, 0.7), (-44.999, 1.2), (0.0, 0.7), (0.0, 1.2), (90.0, 1.0),
         (17.0, 0.93), (-33.3, 1.05)]
DIGITS = [0, 1, 2, 3, 4, 7, 11, 18]

def read_idx(path):
    with open(path, 'rb') as f:
        data = f.read()
    if data[:2] == b'\x1f\x8b':
        data = gzip.decompress(data)
    dims = data[3]
    shape = struct.unpack('>' + 'I' * dims, data[4:4 + 4 * dims])
    return np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * dims).reshape(shape)

def write_idx(path, array):
    header = bytes([0, 0, 8, array.ndim]) + struct.pack('>' + 'I' * array.ndim, *array.shape)
    with open(path, 'wb') as f:
        f.write(gzip.compress(header + array.astype(np.uint8).tobytes(), mtime=0))

def main():
    parser = argparse.ArgumentParser()
    parser.add_argument('--data', default=os.environ.get('STN_DATA', '../shared/data/mnist'))
    args = parser.parse_args()
    images = read_idx(os.path.join(args.data, 't10k-images-idx3-ubyte.gz'))
    inputs, outputs, rows = [], [], []
    for d in DIGITS:
        for angle, scale in CASES:
            pil = Image.fromarray(images[d], mode='L')
            out = F.affine(pil, angle=angle, translate=[0, 0], scale=scale, shear=[0.0, 0.0],
                           interpolation=InterpolationMode.NEAREST, fill=0)
            rows.append(f"{len(rows)},{d},{angle!r},{scale!r}")
            inputs.append(images[d])
            outputs.append(np.asarray(out))
    root = os.path.join(os.path.dirname(__file__), '..', 'Tests', 'Fixtures')
    write_idx(os.path.join(root, 'rts-digits-idx3-ubyte.gz'), np.stack(inputs))
    write_idx(os.path.join(root, 'rts-expected-idx3-ubyte.gz'), np.stack(outputs))
    with open(os.path.join(root, 'rts-cases.csv'), 'w') as f:
        f.write(f"# torchvision {torchvision.__version__}, PIL {Image.__version__}\n")
        f.write("index,mnist_index,angle,scale\n" + "\n".join(rows) + "\n")
    print(f"wrote {len(rows)} cases to {os.path.normpath(root)}")

if __name__ == '__main__':
    main()
