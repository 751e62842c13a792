#!/usr/bin/env python3
"""Exports models to ONNX (opset 20) as fixtures for stn-convert's importer.

    pip install torch h5py onnx onnxruntime onnxscript
    python3 tools/make_onnx_fixtures.py

torch.onnx.export (torch's default exporter, dynamo=True, with its graph optimiser) at
opset 20, fixed input shape, batch 1, eval mode, of

  cnn, st-cnn    the seed's models (tools/seed_model.py), weights Weights/{cnn,st-cnn}.h5
                 (loaded by state_dict name); input pixel/255, [1,1,42,42]; output log-probs
  tutorial       PyTorch's spatial-transformer tutorial Net (tools/tutorial_model.py), weights
                 Tests/Fixtures/tutorial-pytorch.h5; input the tutorial's NORMALISED image
                 (pixel/255 - 0.1307) / 0.3081, [1,1,28,28], as Net.forward takes it; log-probs
  small          a model built here (SmallSTN, seed 0): input-normalisation Sub/Div, a spatial
                 transformer with border sampling and align_corners=True, convolutions with
                 padding and stride, batch norm with non-trivial running statistics, average
                 pooling and a Softmax output; input pixel/255, [1,1,28,28]; probabilities

into Tests/Fixtures/onnx/<name>.onnx, with <name>-expected.h5: `input` [N,C,H,W] float32
(N = 4 images, real digits), `output` [N, 10] from ONNX Runtime (the model run once per
image, batch 1), and for the transformer models `theta` [N,2,3] from PyTorch (the ONNX
graph has no theta output; ONNX Runtime's `output` agrees with PyTorch's to 1e-4, checked
here). Prints each model's operator list (node op_types in order) and writes them, with
counts, into Tests/Fixtures/onnx/README.md.
"""
import collections
import os
import sys

import h5py
import numpy as np
import onnx
import onnxruntime
import torch
import torch.nn as nn
import torch.nn.functional as F

TOOLS = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.join(TOOLS, "..")
OUT = os.path.join(ROOT, "Tests", "Fixtures", "onnx")
sys.path.insert(0, TOOLS)
import seed_model  # noqa: E402
import tutorial_model  # noqa: E402
from make_golden import read_idx  # noqa: E402

OPSET = 20
COUNT = 4


class SmallSTN(nn.Module):
    """Every feature the importer must map beyond the seed models, small (28 x 28 input)."""

    MEAN, STD = 0.1307, 0.3081

    def __init__(self):
        super().__init__()
        self.localization = nn.Sequential(
            nn.Conv2d(1, 8, 5, stride=2, padding=2), nn.BatchNorm2d(8), nn.ReLU(),   # 14 x 14
            nn.AvgPool2d(2),                                                         # 7 x 7
            nn.Flatten(), nn.Linear(8 * 7 * 7, 6))
        self.features = nn.Sequential(
            nn.Conv2d(1, 8, 3, padding=1), nn.ReLU(),                                # 28 x 28
            nn.AvgPool2d(2), nn.BatchNorm2d(8),                                      # 14 x 14
            nn.Conv2d(8, 16, 3, stride=2, padding=1), nn.BatchNorm2d(16), nn.ReLU(), # 7 x 7
            nn.AvgPool2d(2, stride=2, padding=1))                                    # 4 x 4
        self.classifier = nn.Linear(16 * 4 * 4, 10)

    # The exporter's optimiser folds a batch norm that follows a convolution into it (the
    # localisation net's); the one after average pooling stays a BatchNormalization node.

    def transformer(self, x):
        theta = self.localization(x).view(-1, 2, 3)
        grid = F.affine_grid(theta, list(x.size()), align_corners=True)
        return theta, F.grid_sample(x, grid, mode="bilinear", padding_mode="border", align_corners=True)

    def forward(self, pixels):
        x = (pixels - self.MEAN) / self.STD
        theta, x = self.transformer(x)
        return F.softmax(self.classifier(self.features(x).flatten(1)), dim=1)


def small_model():
    torch.manual_seed(0)
    model = SmallSTN()
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, nn.BatchNorm2d):  # trained-looking statistics and affine parameters
                n = m.num_features
                m.running_mean.copy_(torch.randn(n) * 0.3)
                m.running_var.copy_(torch.rand(n) * 1.5 + 0.25)
                m.weight.copy_(1 + torch.randn(n) * 0.2)
                m.bias.copy_(torch.randn(n) * 0.1)
        last = model.localization[5]  # theta near the identity but depending on the image
        last.weight.mul_(0.05)
        last.bias.copy_(torch.tensor([0.9, 0.1, 0.05, -0.1, 0.9, -0.05]))
    return model


def load_h5(model, path):
    with h5py.File(path, "r") as f:
        wanted = model.state_dict().keys()
        state = {k: torch.from_numpy(np.asarray(f[k][()])) for k in wanted}
    model.load_state_dict(state, strict=True)
    return model


def models():
    """(name, model, inputs [N,C,H,W] float32, theta function or None, description)."""
    seed_pixels = read_idx(os.path.join(ROOT, "Weights", "samples", "images-idx3-ubyte"))[:COUNT]
    seed_input = (seed_pixels.astype(np.float32) / 255)[:, None]
    with h5py.File(os.path.join(ROOT, "Tests", "Fixtures", "tutorial-pytorch-expected.h5"), "r") as f:
        digits = f["pixels"][:COUNT].astype(np.float32) / 255
    digits = digits[:, None]

    cnn = load_h5(seed_model.build("cnn"), os.path.join(ROOT, "Weights", "cnn.h5"))
    stcnn = load_h5(seed_model.build("st-cnn"), os.path.join(ROOT, "Weights", "st-cnn.h5"))
    tutorial = load_h5(tutorial_model.build(), os.path.join(ROOT, "Tests", "Fixtures", "tutorial-pytorch.h5"))
    small = small_model()

    def tutorial_theta(x):
        xs = tutorial.localization(x).view(-1, 10 * 3 * 3)
        return tutorial.fc_loc(xs).view(-1, 2, 3)

    return [
        ("cnn", cnn, seed_input, None, "seed CNN, `Weights/cnn.h5`, pixel/255 [1,1,42,42] -> log-probs"),
        ("st-cnn", stcnn, seed_input, lambda x: stcnn.transform(x)[1],
         "seed ST-CNN, `Weights/st-cnn.h5`, pixel/255 [1,1,42,42] -> log-probs"),
        ("tutorial", tutorial, tutorial_model.normalize(digits), tutorial_theta,
         "PyTorch tutorial Net, `Tests/Fixtures/tutorial-pytorch.h5`, normalised image [1,1,28,28] -> log-probs"),
        ("small", small, digits, lambda x: small.transformer((x - SmallSTN.MEAN) / SmallSTN.STD)[0],
         "SmallSTN (seed 0, in this script), pixel/255 [1,1,28,28] -> probabilities"),
    ]


def attribute(a):
    value = onnx.helper.get_attribute_value(a)
    if isinstance(value, bytes):
        return value.decode()
    if isinstance(value, onnx.TensorProto):
        return f"tensor{list(value.dims)}"
    return list(value) if isinstance(value, (list, tuple)) or hasattr(value, "__len__") else value


def main():
    torch.manual_seed(0)
    torch.set_num_threads(1)
    os.makedirs(OUT, exist_ok=True)
    sections = []
    for name, model, inputs, theta_of, description in models():
        model.eval()
        path = os.path.join(OUT, f"{name}.onnx")
        example = torch.from_numpy(inputs[:1])
        program = torch.onnx.export(model, (example,), dynamo=True, opset_version=OPSET,
                                    input_names=["input"], output_names=["output"], external_data=False)
        program.save(path)
        onnx_model = onnx.load(path)
        onnx.checker.check_model(onnx_model, full_check=True)
        opsets = {o.domain or "ai.onnx": o.version for o in onnx_model.opset_import}
        assert opsets.get("ai.onnx") == OPSET, opsets

        session = onnxruntime.InferenceSession(path, providers=["CPUExecutionProvider"])
        output = np.concatenate([session.run(None, {"input": inputs[i:i + 1]})[0] for i in range(len(inputs))])
        with torch.no_grad():
            x = torch.from_numpy(inputs)
            reference = model(x).numpy()
            theta = theta_of(x).numpy() if theta_of else None
        difference = float(np.abs(output - reference).max())
        assert difference < 1e-4, (name, difference)
        with h5py.File(os.path.join(OUT, f"{name}-expected.h5"), "w") as f:
            f["input"] = inputs.astype(np.float32)
            f["output"] = output.astype(np.float32)
            if theta is not None:
                f["theta"] = theta.astype(np.float32)
            f.attrs["command"] = "python3 tools/make_onnx_fixtures.py"
            f.attrs["output_source"] = f"onnxruntime {onnxruntime.__version__}, one image per run (batch 1)"
            if theta is not None:
                f.attrs["theta_source"] = f"PyTorch {torch.__version__} (not an ONNX graph output)"
            f.attrs["torch_version"] = str(torch.__version__)

        ops = [n.op_type for n in onnx_model.graph.node]
        counts = collections.Counter(ops)
        size = os.path.getsize(path)
        print(f"== {name}: {path} ({size:,} bytes), opsets {opsets}, {len(ops)} nodes, "
              f"{len(onnx_model.graph.initializer)} initializers, max |ORT - PyTorch| {difference:.1e}")
        print("   " + " ".join(ops))
        sections.append(
            f"## {name}\n\n{description}. `{name}.onnx` {size:,} bytes, opset imports {opsets}, "
            f"{len(ops)} nodes, {len(onnx_model.graph.initializer)} initializers; "
            f"max |ONNX Runtime - PyTorch| on the {len(inputs)} inputs {difference:.1e}"
            f"{'; `theta` from PyTorch' if theta is not None else ''}.\n\n"
            "Operators in graph order:\n\n```\n" + "\n".join(
                f"{i:3}  {n.op_type:20} {', '.join(n.input)} -> {', '.join(n.output)}"
                + "".join(f"  {a.name}={attribute(a)}" for a in n.attribute)
                for i, n in enumerate(onnx_model.graph.node)) + "\n```\n\n"
            "Initializers: " + ", ".join(f"`{t.name}` {list(t.dims)}" for t in onnx_model.graph.initializer)
            + "\n\n"
            "Counts: " + ", ".join(f"{op} {c}" for op, c in sorted(counts.items())) + "\n")

    with open(os.path.join(OUT, "README.md"), "w") as f:
        f.write(f"""# ONNX model fixtures

Written by `tools/make_onnx_fixtures.py` (see its docstring): `torch.onnx.export` of torch
{torch.__version__} (default exporter, `dynamo=True`, onnxscript {__import__('onnxscript').__version__},
graph optimiser on) at opset {OPSET}, fixed shape, batch 1, eval mode. `<name>-expected.h5`
holds `input` [N,C,H,W] float32, `output` [N,10] from ONNX Runtime {onnxruntime.__version__}
(one image per run) and, for the transformer models, `theta` [N,2,3] from PyTorch.

What the importer must recognise: with fixed shapes the exporter constant-folds all shape
arithmetic, so there is no Shape, Gather, Concat, Cast or Constant node (shapes are int64
initializers, `val_*`). `F.affine_grid` is **not** exported as AffineGrid but decomposed:
a constant base grid initializer [H*W, 3, 1] (rows x, y, 1 in normalised coordinates for the
model's align_corners), then `Reshape(theta, [1,2,3]) -> Transpose(perm 0,2,1) -> Unsqueeze(1)
-> Mul(base, .) -> ReduceSum(axis 2, keepdims 0) -> Reshape([1,H,W,2])` feeding GridSample.
`F.interpolate` (the ST-CNN's downsampling) is a Resize, Flatten/view a Reshape with
allowzero=1, Linear a Gemm with transB=1. A batch norm right after a convolution is folded
into the convolution's weights; one elsewhere stays BatchNormalization (in `small`).

""" + "\n".join(sections))


def write_unsupported():
    """unsupported-elu.onnx: Relu then Elu (an operator the importer refuses, by name)."""
    from onnx import TensorProto, helper
    image = helper.make_tensor_value_info("image", TensorProto.FLOAT, [1, 1, 4, 4])
    out = helper.make_tensor_value_info("out", TensorProto.FLOAT, [1, 1, 4, 4])
    nodes = [helper.make_node("Relu", ["image"], ["r"], name="first"),
             helper.make_node("Elu", ["r"], ["out"], name="activation")]
    model = helper.make_model(helper.make_graph(nodes, "unsupported", [image], [out]),
                              opset_imports=[helper.make_opsetid("", OPSET)])
    model.ir_version = 9
    onnx.checker.check_model(model)
    onnx.save(model, os.path.join(OUT, "unsupported-elu.onnx"))


if __name__ == "__main__":
    main()
    write_unsupported()
