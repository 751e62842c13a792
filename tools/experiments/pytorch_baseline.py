#!/usr/bin/env python3
"""PyTorch and ONNX Runtime on this machine, for comparison with stn-bench (needs torch;
ONNX Runtime if installed).

  python3 tools/experiments/pytorch_baseline.py [--train-batches 10] [--frames 2000] [--inference-only]
                                    [--stn-bench .build/release/stn-bench] [--rounds 1]

Prints training throughput (batch 256, 2 threads, forward + backward + SGD step) and
inference latency (batch 1, 1 thread, eager and TorchScript) for both seed models, then
ONNX Runtime's (batch 1, 1 thread, ORT_ENABLE_ALL, p50/p99) on the committed exports
Tests/Fixtures/onnx/{cnn,st-cnn}.onnx. With --stn-bench, each round also runs that binary
(`infer --threads 1 --json`, the trained weights in Weights/ when present) right after
ONNX Runtime on the same model and prints the ratio of the two p50s, and each round's
PyTorch training rate is followed by `stn-bench train` on the same model (batch 256, 2
threads) and the ratio of the two: both figures measured in one run. Pause background work
first (pkill -STOP stn-train).
"""
import argparse, json, os, re, subprocess, sys, time
import numpy as np, torch, torch.nn.functional as F
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', 'fixtures'))
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


ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def ort_latency(name, frames):
    """p50 and p99 in us of ONNX Runtime on one frame, one thread, all graph optimisations."""
    import onnxruntime as ort
    options = ort.SessionOptions()
    options.intra_op_num_threads = 1
    options.inter_op_num_threads = 1
    options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
    options.execution_mode = ort.ExecutionMode.ORT_SEQUENTIAL
    path = os.path.join(ROOT, 'Tests', 'Fixtures', 'onnx', f'{name}.onnx')
    session = ort.InferenceSession(path, options, providers=['CPUExecutionProvider'])
    feed = {session.get_inputs()[0].name: np.random.rand(1, 1, 42, 42).astype(np.float32)}
    for _ in range(200):
        session.run(None, feed)
    times = []
    for _ in range(frames):
        t = time.perf_counter_ns(); session.run(None, feed); times.append(time.perf_counter_ns() - t)
    times.sort()
    return times[len(times) // 2] / 1000, times[len(times) * 99 // 100] / 1000


def ours_latency(binary, name, frames):
    """p50 and p99 in us of stn-bench on one thread."""
    weights = os.path.join(ROOT, 'Weights', f'{name}.h5')
    source = ['--weights', weights] if os.path.exists(weights) else ['--model', name]
    out = subprocess.run([binary, 'infer', *source, '--frames', str(frames), '--threads', '1', '--json'],
                         check=True, capture_output=True, text=True).stdout
    report = json.loads(out)
    return report['p50_us'], report['p99_us']


def ours_train_rate(binary, name, batches):
    """images/s of stn-bench train (batch 256, 2 threads)."""
    out = subprocess.run([binary, 'train', '--model', name, '--batches', str(batches), '--threads', '2'],
                         check=True, capture_output=True, text=True).stdout
    return float(re.search(r'([0-9.]+) images/s', out).group(1))


if __name__ == '__main__':
    p = argparse.ArgumentParser()
    p.add_argument('--train-batches', type=int, default=10)
    p.add_argument('--frames', type=int, default=2000)
    p.add_argument('--inference-only', action='store_true', help='skip PyTorch training and eager/TorchScript')
    p.add_argument('--stn-bench', help='stn-bench binary to measure in the same run as ONNX Runtime')
    p.add_argument('--rounds', type=int, default=1, help='ONNX Runtime / stn-bench rounds, interleaved')
    a = p.parse_args()
    print(f'torch {torch.__version__}')
    try:
        import onnxruntime
        print(f'onnxruntime {onnxruntime.__version__}')
    except ImportError:
        onnxruntime = None
        print('onnxruntime not installed (pip install onnxruntime): skipping it')
    for name in [] if a.inference_only else ['st-cnn', 'cnn']:
        for round in range(a.rounds):
            theirs = train_rate(name, a.train_batches)
            line = f'{name}: training PyTorch {theirs:.0f} images/s (batch 256, 2 threads)'
            if a.stn_bench:
                ours = ours_train_rate(a.stn_bench, name, a.train_batches)
                line += f'; stn-bench {ours:.0f} images/s: {ours / theirs:.2f}x'
            print(f'round {round + 1}: {line}' if a.rounds > 1 else line, flush=True)
        for script in (False, True):
            p50, lo = latency(name, a.frames, script)
            print(f'{name}: inference {"TorchScript" if script else "eager"} p50 {p50:.0f} us, min {lo:.0f} us (batch 1, 1 thread)')
    for round in range(a.rounds):
        for name in ['st-cnn', 'cnn'] if onnxruntime else []:
            p50, p99 = ort_latency(name, a.frames)
            line = f'{name}: inference ONNX Runtime p50 {p50:.1f} us, p99 {p99:.1f} us (batch 1, 1 thread)'
            if a.stn_bench:
                ours50, ours99 = ours_latency(a.stn_bench, name, a.frames)
                line += f'; stn-bench p50 {ours50:.1f} us, p99 {ours99:.1f} us: {p50 / ours50:.2f}x'
            print(f'round {round + 1}: {line}' if a.rounds > 1 else line, flush=True)
