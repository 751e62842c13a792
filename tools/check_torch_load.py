#!/usr/bin/env python3
"""Loads an stn-swift weight file into the seed's PyTorch model and compares predictions.

  python3 tools/check_torch_load.py --weights Weights/st-cnn.h5 \
      --images Weights/samples/images-idx3-ubyte --labels Weights/samples/labels-idx1-ubyte \
      [--engine-json out.jsonl]     # from: stn-infer IMAGES --weights W --format json

Builds the model named by the file's `model` attribute (or by its dataset names), loads
{k: torch.from_numpy(f[k][()]) for k in f} with strict=True, runs the images (u8 / 255),
prints accuracy, and with --engine-json the agreement of digits and the largest
differences in log-probabilities and theta. Exits non-zero if anything disagrees.
"""
import argparse, json, os, sys
import h5py, numpy as np, torch

sys.path.insert(0, os.path.dirname(__file__))
from seed_model import build, model_name_from_keys
from make_golden import read_idx


def main():
    p = argparse.ArgumentParser()
    p.add_argument('--weights', required=True)
    p.add_argument('--images', required=True)
    p.add_argument('--labels')
    p.add_argument('--engine-json')
    a = p.parse_args()
    with h5py.File(a.weights, 'r') as f:
        keys = [k for k in f.keys() if isinstance(f[k], h5py.Dataset)]
        name = f.attrs.get('model') or model_name_from_keys(keys)
        name = name.decode() if isinstance(name, bytes) else str(name)
        state = {k: torch.from_numpy(f[k][()]) for k in keys}
    model = build(name)
    model.load_state_dict(state, strict=True)
    model.eval()
    images = read_idx(a.images).astype(np.float32) / 255
    x = torch.from_numpy(images).unsqueeze(1)
    with torch.no_grad():
        log_probs = model(x).numpy()
        theta = model.transform(x)[1].reshape(-1, 6).numpy() if name == 'st-cnn' else None
    digits = log_probs.argmax(1)
    print(f'{a.weights}: {name}, loaded into the seed PyTorch model (strict), {len(digits)} images')
    ok = True
    if a.labels:
        labels = read_idx(a.labels)
        print(f'PyTorch accuracy: {100 * (digits == labels).mean():.2f}%')
    if a.engine_json:
        rows = [json.loads(l) for l in open(a.engine_json) if l.strip().startswith('{"index"')]
        ours = np.array([r['digit'] for r in rows])
        agree = (ours == digits[:len(ours)]).mean()
        lp = np.abs(np.array([r['log_probs'] for r in rows]) - log_probs[:len(rows)]).max()
        print(f'stn-infer vs PyTorch: same digit on {100 * agree:.2f}% of {len(rows)} images, max |log-prob diff| {lp:.2e}')
        ok = agree == 1.0 and lp < 1e-3
        if theta is not None:
            td = np.abs(np.array([r['theta'] for r in rows]) - theta[:len(rows)]).max()
            print(f'max |theta diff| {td:.2e}')
            ok = ok and td < 1e-4
    sys.exit(0 if ok else 1)


if __name__ == '__main__':
    main()
