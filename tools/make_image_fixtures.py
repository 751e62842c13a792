#!/usr/bin/env python3
"""Writes the image fixtures of stn-infer's PNG and PGM inputs (Tests/Fixtures/images/).

Images are written by Pillow (a second implementation, not the project's own encoder), with
pixels from formulas the tests recompute, so a decoded image is compared with its source:

  grey8.png      5x3 8-bit grey        v = (37 x + 71 y + 5) % 256
  grey16.png     5x3 16-bit grey       v = (9001 x + 20011 y + 7) % 65536
  rgb.png        5x3 RGB               (r, g, b) = ((50 x + 3 y) % 256, (20 y + 7 x + 100) % 256, (255 - 40 x) % 256)
  rgba.png       5x3 RGBA              rgb.png's colours, alpha = (60 x + 90 y) % 256
  rgb-grey.pgm   rgb.png as Pillow's convert("L") makes it grey (binary PGM, by Pillow)
  grey16-4095.pgm  5x3 16-bit PGM, maxval 4095, v = (300 x + 1000 y) % 4096 (written by hand:
                 Pillow writes only maxval 255 or 65535)
  digit.png      image 14 of Tests/Fixtures/rts-digits-idx3-ubyte.gz (a 28x28 digit)
  digit.pgm      the same digit as binary PGM (by Pillow)
  digit-dark-on-light.png  the same digit inverted (255 - v), as a scan would be
  rgb-model.h5   a 3-channel model (input 3x8x8, an identity transformer, a seeded linear
                 classifier): its transformer output is its input, so --warped can be checked
  rgb8.png       8x8 RGB for it, (r, g, b) = ((32 x + 5 y) % 256, (16 y + 9 x) % 256, (11 x y) % 256)

It also seeds the image fuzz target's corpus (Fuzz/image/corpus/): the small images above
and a palette PNG.

Run from the package root: python3 tools/make_image_fixtures.py
"""
import gzip
import os
import shutil

import h5py
import numpy as np
from PIL import Image

OUT = "Tests/Fixtures/images"
DIGIT_INDEX = 14


def grid(width, height):
    y, x = np.mgrid[0:height, 0:width]
    return x.astype(np.int64), y.astype(np.int64)


def rgb_pixels(width, height):
    x, y = grid(width, height)
    return np.stack([(50 * x + 3 * y) % 256, (20 * y + 7 * x + 100) % 256, (255 - 40 * x) % 256], axis=-1).astype(
        np.uint8)


def main():
    os.makedirs(OUT, exist_ok=True)
    x, y = grid(5, 3)
    Image.fromarray(((37 * x + 71 * y + 5) % 256).astype(np.uint8)).save(f"{OUT}/grey8.png")
    grey16 = ((9001 * x + 20011 * y + 7) % 65536).astype(np.uint16)
    Image.fromarray(grey16).save(f"{OUT}/grey16.png")
    rgb = rgb_pixels(5, 3)
    Image.fromarray(rgb).save(f"{OUT}/rgb.png")
    alpha = ((60 * x + 90 * y) % 256).astype(np.uint8)
    Image.fromarray(np.dstack([rgb, alpha])).save(f"{OUT}/rgba.png")
    Image.fromarray(rgb).convert("L").save(f"{OUT}/rgb-grey.pgm")

    # 16-bit PGM with a maxval other than 65535: header, then big-endian samples.
    samples = ((300 * x + 1000 * y) % 4096).astype(">u2")
    with open(f"{OUT}/grey16-4095.pgm", "wb") as f:
        f.write(b"P5\n# maxval 4095\n5 3\n4095\n" + samples.tobytes())

    raw = gzip.open("Tests/Fixtures/rts-digits-idx3-ubyte.gz").read()
    count, rows, columns = (int.from_bytes(raw[i:i + 4], "big") for i in (4, 8, 12))
    digits = np.frombuffer(raw[16:], np.uint8).reshape(count, rows, columns)
    digit = digits[DIGIT_INDEX]
    Image.fromarray(digit).save(f"{OUT}/digit.png")
    Image.fromarray(digit).save(f"{OUT}/digit.pgm")
    Image.fromarray(255 - digit).save(f"{OUT}/digit-dark-on-light.png")

    x8, y8 = grid(8, 8)
    rgb8 = np.stack([(32 * x8 + 5 * y8) % 256, (16 * y8 + 9 * x8) % 256, (11 * x8 * y8) % 256], axis=-1)
    Image.fromarray(rgb8.astype(np.uint8)).save(f"{OUT}/rgb8.png")

    description = "\n".join([
        "stn-model 1 name=rgb-test",
        "input image 3x8x8",
        "flatten xs image",
        "linear fc_loc xs out=6",
        "affine_grid grid fc_loc size=8x8",
        "grid_sample warped image,grid",
        "flatten flat warped",
        "linear fc flat out=10",
        "log_softmax log_probs fc",
    ]) + "\n"
    rng = np.random.default_rng(16)
    with h5py.File(f"{OUT}/rgb-model.h5", "w") as f:
        # The localisation net answers the identity transform whatever the image.
        f["fc_loc.weight"] = np.zeros((6, 192), np.float32)
        f["fc_loc.bias"] = np.array([1, 0, 0, 0, 1, 0], np.float32)
        f["fc.weight"] = rng.normal(0, 0.5, (10, 192)).astype(np.float32)
        f["fc.bias"] = rng.normal(0, 0.1, (10,)).astype(np.float32)
        f.attrs["format"] = "stn-weights"
        f.attrs["format_version"] = np.int64(2)
        f.attrs["model"] = "rgb-test"
        f.attrs["model_description"] = description
        f.attrs["transform"] = "affine"
        f.attrs["command"] = "python3 tools/make_image_fixtures.py"


def fuzz_corpus():
    corpus = "Fuzz/image/corpus"
    os.makedirs(corpus, exist_ok=True)
    for name in ["grey8.png", "grey16.png", "rgb.png", "rgba.png", "rgb-grey.pgm", "grey16-4095.pgm", "digit.pgm"]:
        shutil.copyfile(f"{OUT}/{name}", f"{corpus}/{name}")
    Image.fromarray((np.arange(12).reshape(3, 4) * 20).astype(np.uint8)).convert("P").save(f"{corpus}/palette.png")


if __name__ == "__main__":
    main()
    fuzz_corpus()
