#!/usr/bin/env python3
"""Loads a weight file of the tutorial preset into PyTorch's tutorial Net and checks it.

  python3 tools/check_tutorial_load.py WEIGHTS.h5 [--infer .build/release/stn-infer] [--data DIR]

Reads only the root datasets whose names are state_dict keys of tools/tutorial_model.py's
Net (root attributes, root groups and other datasets are ignored; a missing key is an
error), loads them with load_state_dict(strict=True) and prints the accuracy on the 10,000
t10k digits (eval mode, input pixel/255, normalised by the model as in the tutorial).

With --infer, writes the first --count (1000) t10k digits to a temporary raw idx3-ubyte file,
runs `stn-infer --weights WEIGHTS.h5 --format json IMAGES` and compares each image's
log_probs and theta with PyTorch's: prints the largest absolute differences and the number of
images with the same digit. Exits non-zero if a digit differs, |log-prob diff| >= 1e-3 or
|theta diff| >= 1e-4 (the tolerances of check_torch_load.py).
"""
import argparse, json, os, struct, subprocess, sys, tempfile
import h5py, numpy as np, torch

sys.path.insert(0, os.path.dirname(__file__))
from make_golden import read_idx
from tutorial_model import build, forward_recording


def load_weights(path):
    model = build()
    wanted = model.state_dict().keys()
    with h5py.File(path, 'r') as f:
        present = [k for k in f.keys() if k in wanted and isinstance(f[k], h5py.Dataset)]
        ignored = sorted(set(f.keys()) - set(present))
        missing = [k for k in wanted if k not in present]
        if missing:
            sys.exit(f'{path}: missing tutorial parameters: {", ".join(missing)}')
        state = {k: torch.from_numpy(np.asarray(f[k][()])) for k in present}
    model.load_state_dict(state, strict=True)
    model.eval()
    note = f' (ignored at the root: {", ".join(ignored)})' if ignored else ''
    print(f'{path}: {len(state)} tensors loaded into the tutorial Net (strict){note}')
    return model


def pytorch_outputs(model, pixels):
    """log_probs [N,10] and theta [N,6] in eval mode, from uint8 [N,28,28]."""
    x = torch.from_numpy(pixels.astype(np.float32) / 255).unsqueeze(1)
    log_probs, theta = [], []
    with torch.no_grad():
        for i in range(0, len(x), 1000):
            acts = forward_recording(model, x[i:i + 1000], dropout=False)
            log_probs.append(acts['log_probs'].numpy())
            theta.append(acts['theta'].reshape(-1, 6).numpy())
    return np.concatenate(log_probs), np.concatenate(theta)


def write_idx3(path, pixels):
    with open(path, 'wb') as f:
        f.write(bytes([0, 0, 8, 3]) + struct.pack('>III', *pixels.shape) + pixels.astype(np.uint8).tobytes())


def compare_with_engine(infer, weights, pixels, log_probs, theta):
    with tempfile.TemporaryDirectory() as tmp:
        images = os.path.join(tmp, 'images-idx3-ubyte')
        write_idx3(images, pixels)
        run = subprocess.run([infer, '--weights', weights, '--format', 'json', images],
                             capture_output=True, text=True)
    if run.returncode != 0:
        sys.exit(f'{infer} failed ({run.returncode}):\n{run.stderr}')
    rows = [json.loads(l) for l in run.stdout.splitlines() if l.strip().startswith('{"index"')]
    if len(rows) != len(pixels):
        print(f'stn-infer printed {len(rows)} results for {len(pixels)} images')
        return False
    index = np.array([r['index'] for r in rows])
    digits = np.array([r['digit'] for r in rows])
    lp = np.abs(np.array([r['log_probs'] for r in rows]) - log_probs[index]).max()
    same = int((digits == log_probs[index].argmax(1)).sum())
    print(f'stn-infer vs PyTorch on {len(rows)} t10k digits: same digit on {same}, '
          f'max |log-prob diff| {lp:.2e}')
    ok = same == len(rows) and lp < 1e-3
    if not all('theta' in r for r in rows):
        print('stn-infer printed no theta')
        return False
    td = np.abs(np.array([r['theta'] for r in rows]) - theta[index]).max()
    print(f'max |theta diff| {td:.2e}')
    return ok and td < 1e-4


def main():
    p = argparse.ArgumentParser()
    p.add_argument('weights')
    p.add_argument('--infer', help='path to stn-infer: compare its JSON output with PyTorch')
    p.add_argument('--count', type=int, default=1000, help='t10k digits for --infer (default 1000)')
    p.add_argument('--data', default=os.environ.get('STN_DATA', '../shared/data/mnist'))
    a = p.parse_args()
    torch.set_num_threads(1)
    model = load_weights(a.weights)
    pixels = read_idx(os.path.join(a.data, 't10k-images-idx3-ubyte.gz'))
    labels = read_idx(os.path.join(a.data, 't10k-labels-idx1-ubyte.gz'))
    log_probs, theta = pytorch_outputs(model, pixels)
    correct = int((log_probs.argmax(1) == labels).sum())
    print(f'PyTorch test accuracy: {100 * correct / len(labels):.2f}% ({correct} / {len(labels)})')
    ok = True
    if a.infer:
        n = a.count
        ok = compare_with_engine(a.infer, a.weights, pixels[:n], log_probs[:n], theta[:n])
    sys.exit(0 if ok else 1)


if __name__ == '__main__':
    main()
