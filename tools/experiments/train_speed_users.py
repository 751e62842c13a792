#!/usr/bin/env python3
"""Training throughput on a users' model: PyTorch against stn-bench train, in one run.

    python3 tools/experiments/train_speed_users.py --stn-convert .build/release/stn-convert \\
        --stn-bench .build/release/stn-bench [--model gtsrb32] [--batch 128] [--threads 2] \\
        [--batches 10] [--rounds 3]

The model is tools/fixtures/users_models.py's (GTSRB 32 by default), in training mode
(batch norm on batch statistics, dropout on). PyTorch times forward + backward + an SGD step
on random images and labels; the model is exported with torch.onnx.export (dynamo=False,
opset 20), converted with stn-convert, and `stn-bench train --weights` times forward +
backward at the same batch and threads (its optimiser step is under 2 % and left out).
Rounds alternate which one goes first. Pause background work first (pkill -STOP stn-train).
"""
import argparse
import os
import re
import subprocess
import sys
import tempfile
import time

import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "fixtures"))
import users_models  # noqa: E402


def torch_rate(model, shape, batch, threads, batches, classes):
    torch.set_num_threads(threads)
    model.train()
    opt = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)
    x = torch.rand(batch, *shape)
    y = torch.randint(0, classes, (batch,))

    def step():
        opt.zero_grad()
        out = model(x)
        if isinstance(out, tuple):
            out = out[0]
        F.nll_loss(out, y).backward()
        opt.step()

    for _ in range(2):
        step()
    start = time.perf_counter()
    for _ in range(batches):
        step()
    return batch * batches / (time.perf_counter() - start)


def ours_rate(bench, weights, batch, threads, batches):
    out = subprocess.run(
        [bench, "train", "--weights", weights, "--batch-size", str(batch), "--threads", str(threads),
         "--batches", str(batches)], check=True, capture_output=True, text=True).stdout
    return float(re.search(r"([0-9.]+) images/s", out).group(1))


def main():
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--stn-convert", required=True)
    p.add_argument("--stn-bench", required=True)
    p.add_argument("--model", default="gtsrb32")
    p.add_argument("--batch", type=int, default=128)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--batches", type=int, default=10)
    p.add_argument("--rounds", type=int, default=3)
    a = p.parse_args()
    model, shape = users_models.build(a.model)
    with torch.no_grad():
        classes = model(torch.rand(1, *shape))
        classes = (classes[0] if isinstance(classes, tuple) else classes).shape[1]
    work = tempfile.mkdtemp(prefix="train-speed-")
    onnx_path = os.path.join(work, a.model + ".onnx")
    torch.onnx.export(model.eval(), torch.rand(1, *shape), onnx_path, dynamo=False, opset_version=20)
    weights = os.path.join(work, a.model + ".h5")
    subprocess.run([a.stn_convert, onnx_path, "--out", weights], check=True, capture_output=True)
    print(f"{a.model}: batch {a.batch}, {a.threads} threads, {a.batches} batches a round; "
          f"CPU {open('/proc/cpuinfo').read().split('model name')[1].split(':')[1].splitlines()[0].strip()}")
    ratios = []
    for r in range(a.rounds):
        if r % 2 == 0:
            theirs = torch_rate(model, shape, a.batch, a.threads, a.batches, classes)
            ours = ours_rate(a.stn_bench, weights, a.batch, a.threads, a.batches)
        else:
            ours = ours_rate(a.stn_bench, weights, a.batch, a.threads, a.batches)
            theirs = torch_rate(model, shape, a.batch, a.threads, a.batches, classes)
        ratios.append(ours / theirs)
        print(f"round {r + 1}: PyTorch {theirs:,.0f} images/s, ours {ours:,.0f} images/s: {ours / theirs:.2f}x")
    ratios.sort()
    print(f"median ratio {ratios[len(ratios) // 2]:.2f}x")


if __name__ == "__main__":
    main()
