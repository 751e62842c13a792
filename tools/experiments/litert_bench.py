#!/usr/bin/env python3
"""LiteRT (ai-edge-litert, XNNPACK) latency of the seed models and a few users' models, for
the peer comparison of issue 24. Optional: needs litert-torch, which pins torch < 2.15, so
it runs in its own virtual environment:

    python3 -m venv /tmp/litert-venv
    /tmp/litert-venv/bin/pip install torch==2.13.0 --index-url https://download.pytorch.org/whl/cpu  # or a local wheel
    /tmp/litert-venv/bin/pip install litert-torch ai-edge-litert h5py
    /tmp/litert-venv/bin/python tools/experiments/litert_bench.py [--runs 2000] [--models cnn,st-cnn,gtsrb32]

Converts each model with litert_torch.convert (eval mode, batch 1, the same weights as the
ONNX exports: Weights/{cnn,st-cnn}.h5 for the seed, users_models.build for the others),
then times the LiteRT interpreter on one thread (num_threads=1, XNNPACK by default): 200
warm-up runs, then --runs runs of one frame, p50 in microseconds. A model the converter or
the interpreter refuses is reported with its one-line error.
"""
import argparse
import os
import statistics
import sys
import time

import numpy as np
import torch

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
sys.path.insert(0, os.path.join(ROOT, "tools", "fixtures"))
sys.path.insert(0, os.path.join(ROOT, "tools", "fixtures"))


def seed(name):
    import h5py
    import seed_model
    model = seed_model.build(name)
    with h5py.File(os.path.join(ROOT, "Weights", f"{name}.h5"), "r") as f:
        model.load_state_dict({k: torch.from_numpy(np.asarray(f[k][()])) for k in model.state_dict()})
    return model.eval(), (1, 42, 42)


def build(name):
    if name in ("cnn", "st-cnn"):
        return seed(name)
    import users_models
    return users_models.build(name)


def p50(interpreter, frame, runs):
    runner = interpreter.get_signature_runner()
    name = next(iter(runner.get_input_details()))
    for _ in range(200):
        runner(**{name: frame})
    times = []
    for _ in range(runs):
        t = time.perf_counter_ns()
        runner(**{name: frame})
        times.append(time.perf_counter_ns() - t)
    return statistics.median(times) / 1000


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--runs", type=int, default=2000)
    p.add_argument("--models", default="cnn,st-cnn,gtsrb32,two_stn,tutorial_tanh")
    p.add_argument("--out", default="/tmp/litert-models")
    a = p.parse_args()
    import litert_torch
    from ai_edge_litert.interpreter import Interpreter
    os.makedirs(a.out, exist_ok=True)
    torch.set_num_threads(1)
    print(f"torch {torch.__version__}; LiteRT interpreter, 1 thread, p50 of {a.runs} runs")
    print("| model | LiteRT p50 us | note |\n| --- | --- | --- |")
    for name in a.models.split(","):
        model, shape = build(name)
        frame = np.random.RandomState(0).randint(0, 256, size=(1, *shape)).astype(np.float32) / 255
        try:
            edge = litert_torch.convert(model, (torch.from_numpy(frame),))
            path = os.path.join(a.out, f"{name}.tflite")
            edge.export(path)
            interpreter = Interpreter(model_path=path, num_threads=1)
            with torch.no_grad():
                reference = model(torch.from_numpy(frame))
            reference = reference[0] if isinstance(reference, tuple) else reference
            runner = interpreter.get_signature_runner()
            out = runner(**{next(iter(runner.get_input_details())): frame})
            got = next(iter(out.values()))
            error = float(np.abs(got.reshape(-1) - reference.numpy().reshape(-1)).max())
            print(f"| {name} | {p50(interpreter, frame, a.runs):.0f} | max abs vs PyTorch {error:.1e} |", flush=True)
        except Exception as e:  # noqa: BLE001 - report and go on
            print(f"| {name} | | failed: {str(e).strip().splitlines()[-1][:200] if str(e).strip() else type(e).__name__} |",
                  flush=True)


if __name__ == "__main__":
    main()
