#!/usr/bin/env python3
"""PyTorch on this machine, for comparison with stn-bench (run once; needs torch).

  python3 tools/pytorch_baseline.py [--train-batches 10] [--frames 2000]

Prints training throughput (batch 256, 2 threads, forward + backward + SGD step) and
inference latency (batch 1, 1 thread, eager and TorchScript) for both seed models.
"""
import argparse, os, sys, time
import numpy as np, torch, torch.nn.functional as F
sys.path.insert(0, os.path.dirname(__file__))
from seed_model import build


def train_rate(name, batches, threads=2, batch=256):
    torch.set_num_threads(threads)
    model = build(name)
    opt = torch.optim.SGD(model.parameters(), lr=0.01)
    x = torch.rand(batch, 1, 42, 42)
    y = torch.randint(0, 10, (batch,))
    def step():
        opt.zero_grad(); F.nll_loss(model(x), y).backward(); opt.step()
    for _ in range(2):
        step()
    t = time.perf_counter()
    for _ in range(batches):
        step()
    return batch * batches / (time.perf_counter() - t)


def latency(name, frames, script):
    torch.set_num_threads(1)
    model = build(name).eval()
    x = torch.rand(1, 1, 42, 42)
    with torch.no_grad():
        if script:
            model = torch.jit.trace(model, x)
        for _ in range(100):
            model(x)
        times = []
        for _ in range(frames):
            t = time.perf_counter_ns(); model(x); times.append(time.perf_counter_ns() - t)
    times.sort()
    return times[len(times) // 2] / 1000, times[0] / 1000


if __name__ == '__main__':
    p = argparse.ArgumentParser()
    p.add_argument('--train-batches', type=int, default=10)
    p.add_argument('--frames', type=int, default=2000)
    a = p.parse_args()
    print(f'torch {torch.__version__}')
    for name in ['st-cnn', 'cnn']:
        print(f'{name}: training {train_rate(name, a.train_batches):.0f} images/s (batch 256, 2 threads)')
        for script in (False, True):
            p50, lo = latency(name, a.frames, script)
            print(f'{name}: inference {"TorchScript" if script else "eager"} p50 {p50:.0f} us, min {lo:.0f} us (batch 1, 1 thread)')
