#!/usr/bin/env python3
"""Writes ONNX's own backend node test cases for the operators stn-convert supports.

    pip install onnx onnxruntime
    python3 tools/make_onnx_conformance.py

Regenerates each case with the onnx package's case collectors
(onnx.backend.test.case.node.collect_testcases, the code that produces upstream's
onnx/backend/test/data/node) into the standard layout

    Tests/Fixtures/onnx-conformance/CASE/model.onnx
    Tests/Fixtures/onnx-conformance/CASE/test_data_set_N/{input,output}_K.pb

(each .pb a serialized TensorProto), fails if any of the REQUIRED cases is missing, runs
every case through ONNX Runtime with the backend runner's tolerances and writes
Tests/Fixtures/onnx-conformance/README.md (case, operator, opset, ONNX Runtime result).
"""

import os
import shutil
import sys

import numpy as np
import onnx
import onnxruntime
from onnx import numpy_helper
from onnx.backend.test.case.node import collect_testcases

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")
OUT = os.path.join(ROOT, "Tests", "Fixtures", "onnx-conformance")

REQUIRED = (
    # Conv
    ["test_basic_conv_with_padding", "test_basic_conv_without_padding", "test_conv_with_strides_padding",
     "test_conv_with_strides_no_padding", "test_conv_with_strides_and_asymmetric_padding",
     "test_conv_with_autopad_same"]
    # BatchNormalization, Relu
    + ["test_batchnorm_example", "test_batchnorm_epsilon", "test_relu"]
    # MaxPool
    + ["test_maxpool_2d_" + s for s in
       ["default", "pads", "strides", "precomputed_pads", "precomputed_strides", "ceil", "same_upper"]]
    # AveragePool
    + ["test_averagepool_2d_" + s for s in
       ["default", "strides", "pads", "pads_count_include_pad", "precomputed_strides", "ceil"]]
    # GlobalAveragePool
    + ["test_globalaveragepool", "test_globalaveragepool_precomputed"]
    # Gemm (all eleven), MatMul
    + ["test_gemm_" + s for s in
       ["all_attributes", "alpha", "beta", "default_matrix_bias", "default_no_bias", "default_scalar_bias",
        "default_single_elem_vector_bias", "default_vector_bias", "default_zero_bias", "transposeA",
        "transposeB"]]
    + ["test_matmul_2d"]
    # Add, Sub, Mul, Div
    + [f"test_{op}{b}" for op in ["add", "sub", "mul", "div"] for b in ["", "_bcast"]]
    # Flatten, Reshape, Dropout, Identity
    + ["test_flatten_axis1", "test_flatten_default_axis", "test_reshape_reduced_dims",
       "test_reshape_negative_dim", "test_reshape_one_dim", "test_dropout_default", "test_identity"]
    # AffineGrid
    + ["test_affine_grid_2d", "test_affine_grid_2d_align_corners"]
    # GridSample
    + ["test_gridsample"]
    + ["test_gridsample_" + s for s in
       ["zeros_padding", "border_padding", "bilinear", "aligncorners_true", "nearest"]]
    + [f"test_gridsample_{m}_align_corners_{a}_additional_1" for m in ["nearest", "bilinear"] for a in [0, 1]]
    # Resize
    + ["test_resize_downsample_scales_linear", "test_resize_downsample_scales_nearest",
       "test_resize_downsample_sizes_nearest", "test_resize_downsample_sizes_linear_pytorch_half_pixel",
       "test_resize_upsample_scales_linear", "test_resize_upsample_scales_nearest"]
    # Softmax, LogSoftmax
    + ["test_softmax_example", "test_softmax_large_number", "test_softmax_axis_1", "test_softmax_default_axis"]
    + ["test_logsoftmax_example_1", "test_logsoftmax_large_number", "test_logsoftmax_axis_1",
       "test_logsoftmax_default_axis"]
)
assert len(REQUIRED) == 77 and len(set(REQUIRED)) == 77, len(REQUIRED)


def tensor(value, name):
    return value if isinstance(value, onnx.TensorProto) else numpy_helper.from_array(np.asarray(value), name)


def write_case(case):
    folder = os.path.join(OUT, case.name)
    shutil.rmtree(folder, ignore_errors=True)
    os.makedirs(folder)
    with open(os.path.join(folder, "model.onnx"), "wb") as f:
        f.write(case.model.SerializeToString())
    graph = case.model.graph
    for n, (inputs, outputs) in enumerate(case.data_sets):
        data = os.path.join(folder, f"test_data_set_{n}")
        os.makedirs(data)
        for kind, values, infos in [("input", inputs, graph.input), ("output", outputs, graph.output)]:
            for k, value in enumerate(values):
                assert infos[k].type.HasField("tensor_type"), (case.name, kind, k)
                with open(os.path.join(data, f"{kind}_{k}.pb"), "wb") as f:
                    f.write(tensor(value, infos[k].name).SerializeToString())


def run_onnxruntime(case):
    """The backend runner's check: every output within rtol/atol of the case's expected one."""
    try:
        session = onnxruntime.InferenceSession(case.model.SerializeToString(), providers=["CPUExecutionProvider"])
        names = [i.name for i in case.model.graph.input]
        worst = 0.0
        for inputs, outputs in case.data_sets:
            feed = {n: numpy_helper.to_array(tensor(v, n)) for n, v in zip(names, inputs)}
            got = session.run(None, feed)
            for g, e in zip(got, outputs):
                e = numpy_helper.to_array(e) if isinstance(e, onnx.TensorProto) else np.asarray(e)
                np.testing.assert_allclose(g, e, rtol=case.rtol, atol=case.atol)
                if e.size:
                    worst = max(worst, float(np.max(np.abs(g.astype(np.float64) - e))))
        return True, f"pass (max abs diff {worst:.1e})"
    except Exception as error:  # a failure is a result to record, not a crash
        return False, "FAIL: " + " ".join(str(error).split())[:160]


def main():
    cases = {c.name: c for c in collect_testcases() if c.kind == "node"}
    missing = [n for n in REQUIRED if n not in cases]
    if missing:
        sys.exit(f"make_onnx_conformance: {len(missing)} required case(s) missing from onnx {onnx.__version__}: "
                 + ", ".join(missing))
    shutil.rmtree(OUT, ignore_errors=True)
    os.makedirs(OUT)
    rows, passed = [], 0
    for name in REQUIRED:
        case = cases[name]
        onnx.checker.check_model(case.model)
        write_case(case)
        ok, result = run_onnxruntime(case)
        passed += ok
        op = case.model.graph.node[0].op_type
        opset = next(o.version for o in case.model.opset_import if o.domain in ("", "ai.onnx"))
        rows.append(f"| `{name}` | {op} | {opset} | {result} |")
        print(f"{name:58} {op:18} opset {opset:2}  {result}")
    print(f"{len(REQUIRED)} of {len(REQUIRED)} required cases written; {passed} pass ONNX Runtime")
    with open(os.path.join(OUT, "README.md"), "w") as f:
        f.write(f"""# ONNX backend conformance cases

ONNX's own node test cases for the operators stn-convert supports, regenerated by
`tools/make_onnx_conformance.py` with the case collectors of onnx {onnx.__version__}
(`onnx.backend.test.case.node.collect_testcases`). Standard layout: `CASE/model.onnx` and
`CASE/test_data_set_N/{{input,output}}_K.pb` (serialized TensorProto; the outputs are the
reference implementation's). Opset is the model's default-domain opset import (the operator's
`since_version`, as upstream generates them). Tolerance: the backend runner's rtol {cases[REQUIRED[0]].rtol},
atol {cases[REQUIRED[0]].atol}.

{len(REQUIRED)} cases; **{passed} of {len(REQUIRED)} pass** ONNX Runtime {onnxruntime.__version__} (CPU).

| case | operator | opset | onnxruntime {onnxruntime.__version__} |
| --- | --- | --- | --- |
""")
        f.write("\n".join(rows) + "\n")


if __name__ == "__main__":
    main()
