#!/usr/bin/env python3
"""Writes Tests/Fixtures/onnx/channels.onnx and channels-expected.h5: a small PyTorch model
that splits and joins channels as the MNIST addition models do (two transformers, each
warping one channel of a 2-channel input, `x[:, 0:1]` and `x[:, 1:2]`, the warped channels
joined by `torch.cat([b, a], 1)` in swapped order), exported by `torch.onnx.export`
(dynamo=True, opset 20, batch 1), with ONNX Runtime's answers on 4 random inputs.

The importer must map the exporter's Slice and Concat over channels onto `select ...
channels=` (Tests/STNONNXTests/ChannelSelectionONNXTests.swift).

    python3 tools/make_channel_fixtures.py
"""
import os

import h5py
import numpy as np
import onnx
import onnxruntime
import torch
import torch.nn as nn
import torch.nn.functional as F

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "Tests", "Fixtures", "onnx")
OPSET = 20
SIDE = 20


def localisation():
    net = nn.Sequential(nn.Conv2d(2, 4, 5), nn.MaxPool2d(2), nn.ReLU(), nn.Flatten(), nn.Linear(4 * 8 * 8, 6))
    with torch.no_grad():
        net[-1].weight.mul_(0.1)
        net[-1].bias.copy_(torch.tensor([0.9, 0.1, 0.05, -0.1, 0.8, -0.05]) + 0.05 * torch.randn(6))
    return net


class ChannelSTN(nn.Module):
    def __init__(self):
        super().__init__()
        self.loc1 = localisation()
        self.loc2 = localisation()
        self.head = nn.Sequential(
            nn.Conv2d(2, 4, 3), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(), nn.Linear(4 * 9 * 9, 19),
            nn.LogSoftmax(1))

    def forward(self, x):
        size = (x.shape[0], 1, SIDE, SIDE)
        g1 = F.affine_grid(self.loc1(x).view(-1, 2, 3), size, align_corners=False)
        g2 = F.affine_grid(self.loc2(x).view(-1, 2, 3), size, align_corners=False)
        a = F.grid_sample(x[:, 0:1], g1, align_corners=False)
        b = F.grid_sample(x[:, 1:2], g2, align_corners=False)
        return self.head(torch.cat([b, a], 1))


def main():
    torch.manual_seed(0)
    torch.set_num_threads(1)
    model = ChannelSTN().eval()
    inputs = np.random.default_rng(0).random((4, 2, SIDE, SIDE), dtype=np.float32)
    path = os.path.join(OUT, "channels.onnx")
    program = torch.onnx.export(model, (torch.from_numpy(inputs[:1]),), dynamo=True, opset_version=OPSET,
                                input_names=["input"], output_names=["output"], external_data=False)
    program.save(path)
    onnx.checker.check_model(onnx.load(path), full_check=True)
    session = onnxruntime.InferenceSession(path, providers=["CPUExecutionProvider"])
    output = np.concatenate([session.run(None, {"input": inputs[i:i + 1]})[0] for i in range(len(inputs))])
    with torch.no_grad():
        reference = model(torch.from_numpy(inputs)).numpy()
    difference = float(np.abs(output - reference).max())
    assert difference < 1e-4, difference
    with h5py.File(os.path.join(OUT, "channels-expected.h5"), "w") as f:
        f["input"] = inputs
        f["output"] = output.astype(np.float32)
        f.attrs["command"] = "python3 tools/make_channel_fixtures.py"
        f.attrs["output_source"] = f"onnxruntime {onnxruntime.__version__}, one image per run (batch 1)"
        f.attrs["torch_version"] = str(torch.__version__)
    ops = [n.op_type for n in onnx.load(path).graph.node]
    print(f"{path}: {os.path.getsize(path):,} bytes, {len(ops)} nodes, max |ORT - PyTorch| {difference:.1e}")
    print(" ".join(ops))


if __name__ == "__main__":
    main()
