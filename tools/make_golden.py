#!/usr/bin/env python3
"""Writes the PyTorch golden fixtures the Swift tests compare against (run once; needs torch, h5py).

  Tests/Fixtures/golden-cnn.h5, golden-st-cnn.h5: for the seed's model with fixed weights
  and a fixed batch of 8 RTS images (float32, PyTorch layouts, NCHW):
    params/<key>      initial parameters        input [8,1,42,42], labels [8] (int64)
    act/<name>        every intermediate: downsampled, localisation_net.0-8, theta [8,2,3],
                      grid [8,42,42,2], sampled (ST only); convs.0-5, flat,
                      classification.0-2, log_probs [8,10]
    loss              mean NLL (scalar)
    grad/<key>        d loss / d parameter
    grad_act/<name>   d loss / d activation: log_probs, convs.3, input; ST also sampled,
                      grid, theta, downsampled
    after_step/<key>  parameters after one SGD step (lr 0.01, no momentum)
    momentum/<key>    parameters after two SGD steps on the same batch
                      (lr 0.05, momentum 0.9, weight_decay 5e-4)

  Tests/Fixtures/golden-ops.h5: the transformer's primitive ops on random data:
    interpolate/{input,output}            [2,1,42,42] -> [2,1,21,21]
    interpolate_odd/{input,output}        [1,1,21,21] -> [1,1,10,10]
    sample/theta [5,2,3], sample/input [5,1,42,42], sample/grid [5,42,42,2],
    sample/output [5,1,42,42], sample/upstream [5,1,42,42] (random d loss / d output),
    sample/grad_input, sample/grad_grid, sample/grad_theta

Usage: python3 tools/make_golden.py [--data ../shared/data/mnist]
"""
import argparse, gzip, os, struct, sys
import numpy as np
import h5py


def compressed(f):
    """Every dataset gzip+shuffle compressed (libhdf5 reads it transparently)."""
    def put(key, value):
        value = np.asarray(value)
        if value.ndim == 0:
            f[key] = value
        else:
            f.create_dataset(key, data=value, compression='gzip', compression_opts=9, shuffle=True)
    return put
import torch
import torch.nn.functional as F
import torchvision.transforms as T
from PIL import Image

sys.path.insert(0, os.path.dirname(__file__))
from seed_model import build

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', 'Tests', 'Fixtures')


def read_idx(path):
    data = open(path, 'rb').read()
    if data[:2] == b'\x1f\x8b':
        data = gzip.decompress(data)
    dims = data[3]
    shape = struct.unpack('>' + 'I' * dims, data[4:4 + 4 * dims])
    return np.frombuffer(data, dtype=np.uint8, offset=4 + 4 * dims).reshape(shape)


def rts_batch(data_dir, n=8, seed=0):
    images = read_idx(os.path.join(data_dir, 't10k-images-idx3-ubyte.gz'))
    labels = read_idx(os.path.join(data_dir, 't10k-labels-idx1-ubyte.gz'))
    torch.manual_seed(seed)
    rng = np.random.default_rng(seed)
    affine = T.RandomAffine(degrees=(-45, 45), scale=(0.7, 1.2))
    batch = np.zeros((n, 1, 42, 42), dtype=np.float32)
    for i in range(n):
        digit = np.asarray(affine(Image.fromarray(images[i], mode='L')), dtype=np.float32) / 255
        ox, oy = rng.integers(0, 14, size=2)
        batch[i, 0, oy:oy + 28, ox:ox + 28] = digit
    return torch.from_numpy(batch), torch.from_numpy(labels[:n].astype(np.int64))


def forward_recording(model, x, name):
    """Runs the model, keeping every intermediate (with retained gradients)."""
    acts = {}
    def keep(key, t):
        t.retain_grad()
        acts[key] = t
        return t
    x = keep('input', x)
    if name == 'st-cnn':
        xd = keep('downsampled', F.interpolate(x, scale_factor=0.5, mode='bilinear', align_corners=False,
                                               recompute_scale_factor=False))
        h = xd
        for i, layer in enumerate(model.localisation_net):
            h = keep(f'localisation_net.{i}', layer(h))
        theta = keep('theta', h.view(-1, 2, 3))
        grid = keep('grid', F.affine_grid(theta, list(x.size()), align_corners=False))
        x = keep('sampled', F.grid_sample(x, grid, mode='bilinear', padding_mode='zeros', align_corners=False))
    h = x
    for i, layer in enumerate(model.convs):
        h = keep(f'convs.{i}', layer(h))
    h = keep('flat', h.flatten(1))
    for i, layer in enumerate(model.classification):
        h = keep(f'classification.{i}', layer(h))
    keep('log_probs', F.log_softmax(h, dim=1))
    return acts


def write_model_fixture(name, data_dir):
    torch.manual_seed(0)
    model = build(name)
    if name == 'st-cnn':
        # Not the identity: theta must vary and gradients must reach every localisation layer.
        g = torch.Generator().manual_seed(1)
        with torch.no_grad():
            model.localisation_net[8].weight.copy_(torch.randn(6, 20, generator=g) * 0.05)
            model.localisation_net[8].bias.add_(torch.randn(6, generator=g) * 0.05)
    params = {k: v.detach().clone() for k, v in model.state_dict().items()}
    x, labels = rts_batch(data_dir)
    x.requires_grad_(True)
    acts = forward_recording(model, x, name)
    loss = F.nll_loss(acts['log_probs'], labels)
    model.zero_grad()
    loss.backward()
    path = os.path.join(ROOT, f'golden-{name}.h5')
    with h5py.File(path, 'w') as f:
        put = compressed(f)
        f.attrs['model'] = name
        f.attrs['torch_version'] = str(torch.__version__)
        f.attrs['command'] = 'python3 tools/make_golden.py'
        for k, v in params.items():
            put(f'params/{k}', v.numpy())
        put('input', x.detach().numpy())
        put('labels', labels.numpy())
        for k, v in acts.items():
            if k != 'input':
                put(f'act/{k}', v.detach().numpy())
        put('loss', np.float32(loss.item()))
        for k, p in model.named_parameters():
            put(f'grad/{k}', p.grad.numpy())
        wanted = ['log_probs', 'convs.3', 'input'] + (['sampled', 'grid', 'theta', 'downsampled'] if name == 'st-cnn' else [])
        for k in wanted:
            put(f'grad_act/{k}', acts[k].grad.numpy())
        # One plain SGD step (the seed's optimiser).
        step = build(name); step.load_state_dict(params)
        opt = torch.optim.SGD(step.parameters(), lr=0.01)
        opt.zero_grad(); F.nll_loss(step(x.detach()), labels).backward(); opt.step()
        for k, v in step.state_dict().items():
            put(f'after_step/{k}', v.numpy())
        # Two steps with momentum and weight decay (our default recipe's optimiser).
        mom = build(name); mom.load_state_dict(params)
        opt = torch.optim.SGD(mom.parameters(), lr=0.05, momentum=0.9, weight_decay=5e-4)
        for _ in range(2):
            opt.zero_grad(); F.nll_loss(mom(x.detach()), labels).backward(); opt.step()
        for k, v in mom.state_dict().items():
            put(f'momentum/{k}', v.numpy())
    print(f'wrote {os.path.normpath(path)} ({os.path.getsize(path)} bytes), loss {loss.item():.6f}')


def write_ops_fixture():
    g = torch.Generator().manual_seed(2)
    path = os.path.join(ROOT, 'golden-ops.h5')
    with h5py.File(path, 'w') as f:
        put = compressed(f)
        x = torch.rand(2, 1, 42, 42, generator=g)
        put('interpolate/input', x.numpy())
        put('interpolate/output', F.interpolate(x, scale_factor=0.5, mode='bilinear', align_corners=False,
                                                recompute_scale_factor=False).numpy())
        x = torch.rand(1, 1, 21, 21, generator=g)
        put('interpolate_odd/input', x.numpy())
        put('interpolate_odd/output', F.interpolate(x, scale_factor=0.5, mode='bilinear', align_corners=False,
                                                    recompute_scale_factor=False).numpy())
        c, s = np.cos(0.6), np.sin(0.6)
        theta = torch.tensor([
            [[1, 0, 0], [0, 1, 0]],                      # identity
            [[c, -s, 0], [s, c, 0]],                     # rotation
            [[1.4, 0, 0], [0, 1.3, 0]],                  # zoom out: samples beyond the image
            [[0.8, 0.1, 0.3037], [-0.2, 0.9, -0.2537]],   # general affine with translation (off the pixel grid: the bilinear gradient has kinks at integer coordinates)
            [[0.5, 0, -0.7], [0, 0.5, 0.6]],             # zoom in on a corner
        ], dtype=torch.float32)
        theta.requires_grad_(True)
        inp = torch.rand(5, 1, 42, 42, generator=g, requires_grad=True)
        grid = F.affine_grid(theta, [5, 1, 42, 42], align_corners=False)
        grid.retain_grad()
        out = F.grid_sample(inp, grid, mode='bilinear', padding_mode='zeros', align_corners=False)
        upstream = torch.randn(5, 1, 42, 42, generator=g)
        out.backward(upstream)
        put('sample/theta', theta.detach().numpy())
        put('sample/input', inp.detach().numpy())
        put('sample/grid', grid.detach().numpy())
        put('sample/output', out.detach().numpy())
        put('sample/upstream', upstream.numpy())
        put('sample/grad_input', inp.grad.numpy())
        put('sample/grad_grid', grid.grad.numpy())
        put('sample/grad_theta', theta.grad.numpy())
    print(f'wrote {os.path.normpath(path)} ({os.path.getsize(path)} bytes)')


if __name__ == '__main__':
    parser = argparse.ArgumentParser()
    parser.add_argument('--data', default=os.environ.get('STN_DATA', '../shared/data/mnist'))
    args = parser.parse_args()
    torch.set_num_threads(1)
    for name in ['cnn', 'st-cnn']:
        write_model_fixture(name, args.data)
    write_ops_fixture()
