#!/usr/bin/env python3
"""Writes the seed corpora of the fuzz targets (Fuzz/<name>/corpus/): tiny valid files of
every shape the parsers accept, so fuzzing starts past the magic numbers.

    pip install h5py numpy onnx; tools/make_fuzz_corpus.py

Run once by a developer; the outputs are committed (a few KB each). The HDF5 files are
written by h5py (libhdf5) with default settings, as the project's own writer does, plus a
few variants the built-in reader accepts or refuses by design.
"""
import gzip
import os
import shutil
import struct

import h5py
import numpy as np

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")


def idx(dims, payload):
    return bytes([0, 0, 8, len(dims)]) + b"".join(struct.pack(">I", d) for d in dims) + bytes(payload)


def gz(data):
    return gzip.compress(data, mtime=0)


def write(directory, name, data):
    with open(os.path.join(directory, name), "wb") as f:
        f.write(data)


def idx_corpus():
    d = os.path.join(ROOT, "Fuzz/idx/corpus")
    os.makedirs(d, exist_ok=True)
    images = idx([2, 3, 4], range(0, 240, 10))
    labels = idx([5], [3, 1, 4, 1, 5])
    write(d, "images-2x3x4-idx3", images)
    write(d, "images-2x3x4-idx3.gz", gz(images))
    write(d, "labels-5-idx1", labels)
    write(d, "labels-5-idx1.gz", gz(labels))
    # Two gzip members (what `cat a.gz b.gz` gives).
    write(d, "labels-two-members-idx1.gz", gz(labels[:7]) + gz(labels[7:]))
    write(d, "images-28x28-idx3.gz", gz(idx([1, 28, 28], [(i * 7) % 256 for i in range(784)])))
    # Real MNIST-like data: the RTS fixture (gzip, 1.9 KB).
    shutil.copy(os.path.join(ROOT, "Tests/Fixtures/rts-digits-idx3-ubyte.gz"), os.path.join(d, "rts-digits-idx3.gz"))


def weight_attributes(f, model="cnn"):
    f.attrs["format"] = "stn-weights"
    f.attrs["format_version"] = np.int64(1)
    f.attrs["model"] = model
    f.attrs["input_size"] = np.int64(42)


def hdf5_corpus():
    d = os.path.join(ROOT, "Fuzz/hdf5/corpus")
    os.makedirs(d, exist_ok=True)
    p = lambda name: os.path.join(d, name)

    # A weight file of the right form, with parameters too small to be the real model's
    # (a real one is 450 KB, past -max_len).
    with h5py.File(p("weights-cnn-small.h5"), "w") as f:
        weight_attributes(f)
        f["convs.0.weight"] = np.arange(18, dtype="<f4").reshape(2, 1, 3, 3) / 7
        f["convs.0.bias"] = np.array([0.5, -0.5], dtype="<f4")
        f["fcs.0.weight"] = np.ones((2, 3), dtype="<f8")

    # No `model` attribute: identified by its dataset names (a bare state_dict dump).
    with h5py.File(p("state-dict-st-cnn.h5"), "w") as f:
        f["localisation_net.0.weight"] = np.zeros((2, 1, 3, 3), dtype="<f4")
        f["localisation_net.0.bias"] = np.zeros(2, dtype="<f4")

    # Every kind of value the reader converts, nested groups, fixed-length and numeric
    # attributes, an empty and a scalar dataset.
    with h5py.File(p("values.h5"), "w") as f:
        f.attrs["fixed"] = np.bytes_(b"fixed-len")
        f.attrs["count"] = np.int32(-7)
        f.attrs["rate"] = np.float64(0.0005)
        f.attrs["text"] = "h\u00e9llo"
        f["ints"] = np.array([-1, 0, 1, 2**40], dtype="<i8")
        f["bytes"] = np.array([1, 2, 255], dtype="u1")
        f["shorts"] = np.array([-300, 300], dtype=">i2")
        f["big-endian"] = np.array([1.5, -2.25], dtype=">f4")
        f["group/doubles"] = np.array([[1e-300, np.pi]], dtype="<f8")
        f["group/deeper/scalar"] = np.float32(42.5)
        f.create_dataset("empty", shape=(0, 3), dtype="<f4")
        f.create_dataset("unwritten", shape=(4,), dtype="<f4")  # no storage: all zero

    # Compact layout (elements inside the object header), and a chunked, compressed
    # dataset that the reader refuses by design.
    with h5py.File(p("layouts.h5"), "w") as f:
        space = h5py.h5s.create_simple((3,))
        plist = h5py.h5p.create(h5py.h5p.DATASET_CREATE)
        plist.set_layout(h5py.h5d.COMPACT)
        compact = h5py.h5d.create(f.id, b"compact", h5py.h5t.IEEE_F32LE, space, plist)
        compact.write(h5py.h5s.ALL, h5py.h5s.ALL, np.array([1, 2, 3], dtype="<f4"))
        f.create_dataset("chunked", data=np.arange(16, dtype="<f4"), chunks=(4,), compression="gzip")

    # A 512-byte user block before the superblock.
    with h5py.File(p("userblock.h5"), "w", userblock_size=512) as f:
        f["x"] = np.array([1, 2], dtype="<f4")

    # libver='latest' (superblock 2+, version-2 object headers): refused with a clear error.
    with h5py.File(p("latest.h5"), "w", libver="latest") as f:
        f["x"] = np.array([1, 2], dtype="<f4")


def onnx_corpus():
    """Real torch exports (Tests/Fixtures/onnx, made by tools/make_onnx_fixtures.py): the
    small ones as they are, the seed CNN trimmed to 4 channels (the same 11 nodes, its
    weights sliced, 39 KB instead of 463 KB), and a few of ONNX's own backend-test models."""
    import onnx
    from onnx import numpy_helper

    d = os.path.join(ROOT, "Fuzz/onnx/corpus")
    os.makedirs(d, exist_ok=True)
    fixtures = os.path.join(ROOT, "Tests/Fixtures/onnx")
    for name in ["small.onnx", "tutorial.onnx", "unsupported-elu.onnx"]:
        shutil.copy(os.path.join(fixtures, name), os.path.join(d, name))
    model = onnx.load(os.path.join(fixtures, "cnn.onnx"))
    channels = 4
    for tensor in model.graph.initializer:
        a = numpy_helper.to_array(tensor)
        if tensor.name in ("convs.0.weight", "convs.0.bias", "convs.3.bias"):
            a = a[:channels]
        elif tensor.name == "convs.3.weight":
            a = a[:channels, :channels]
        elif tensor.name == "classification.0.weight":
            a = a.reshape(50, 36, 5, 5)[:, :channels].reshape(50, channels * 25)
        elif tensor.name == "val_5":
            a = np.array([1, channels * 25], dtype=a.dtype)
        tensor.CopyFrom(numpy_helper.from_array(np.ascontiguousarray(a), tensor.name))
    del model.graph.value_info[:]
    write(d, "cnn-4-channels.onnx", model.SerializeToString())
    conformance = os.path.join(ROOT, "Tests/Fixtures/onnx-conformance")
    for case in ["test_affine_grid_2d", "test_gridsample", "test_resize_downsample_sizes_linear_pytorch_half_pixel",
                 "test_batchnorm_epsilon", "test_gemm_default_single_elem_vector_bias", "test_maxpool_2d_default"]:
        source = os.path.join(conformance, case, "model.onnx")
        if os.path.exists(source):
            shutil.copy(source, os.path.join(d, case + ".onnx"))


if __name__ == "__main__":
    idx_corpus()
    hdf5_corpus()
    onnx_corpus()
