#!/usr/bin/env python3
"""Writes the fixtures for the PyTorch spatial-transformer tutorial preset (run once; needs torch, h5py).

The model is tools/tutorial_model.py's Net (the tutorial's, same state_dict keys). Images are
28x28 MNIST as pixel/255; the model normalises them ((x - 0.1307) / 0.3081) and its
transformer samples the normalised image. All float datasets are float32, layouts NCHW.

  Tests/Fixtures/golden-tutorial.h5 (gzip): fixed weights, one batch, every intermediate.
    params/<key>      initial parameters: torch.manual_seed(0) init, then fc_loc.2.weight =
                      randn(6,32)*0.05 and fc_loc.2.bias += randn(6)*0.05 (generator seeded 1),
                      so theta is not the identity and gradients reach the localisation net
    input [8,1,28,28] the first 8 t10k digits, pixel/255;  labels [8] (int64)
    act/<name>        every intermediate named in tutorial_model.NAMES: image (= input),
                      normalized, localization.0-5, xs [8,90], fc_loc.0-2, theta [8,2,3],
                      grid [8,28,28,2], transformed [8,1,28,28], conv1, conv1.pool, conv1.relu,
                      conv2, conv2_drop, conv2.pool, conv2.relu, flat [8,320], fc1, fc1.relu,
                      fc1.drop, fc2 [8,10], log_probs [8,10]
    loss              mean NLL (scalar)
    grad/<key>        d loss / d parameter
    grad_act/<name>   d loss / d activation, for every name in NAMES (image included)
    after_step/<key>  parameters after one plain SGD step (lr 0.01, no momentum) on the batch
  DROPOUT IS OFF everywhere in this file: the model is in eval mode (model.eval()), which for
  this model only turns Dropout2d / F.dropout into the identity (there is no batch norm);
  autograd is unaffected, so the gradients and the SGD step are those of the dropout-free
  network. conv2_drop equals conv2 and fc1.drop equals fc1.relu.

  Tests/Fixtures/tutorial-pytorch.h5: the tutorial model trained by PyTorch as the tutorial
    does (SGD lr 0.01, batch 64, shuffled, train mode with dropout, NLL) for 2 epochs on the
    60,000 training digits, torch.manual_seed(1), one thread; dumped bare as a user would:
    one float32 dataset per state_dict key at the root, no attributes, no groups, no compression.

  Tests/Fixtures/tutorial-pytorch-expected.h5 (gzip): that model in eval mode on the first
    64 t10k digits: input [64,1,28,28] (pixel/255), pixels [64,28,28] (uint8), labels [64]
    (int64), log_probs [64,10], theta [64,2,3], transformed [64,1,28,28]; test_accuracy
    (float64 scalar, fraction correct over all 10,000 t10k digits).

Usage: python3 tools/make_tutorial_fixtures.py [--data ../shared/data/mnist] [--epochs 2]
"""
import argparse, os, sys, time
import numpy as np
import h5py
import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(__file__))
from make_golden import compressed, read_idx, ROOT
from tutorial_model import NAMES, build, forward_recording, normalize


def load(data_dir, split):
    images = read_idx(os.path.join(data_dir, f'{split}-images-idx3-ubyte.gz'))
    labels = read_idx(os.path.join(data_dir, f'{split}-labels-idx1-ubyte.gz')).astype(np.int64)
    return images, labels


def as_input(pixels):
    """uint8 [N,28,28] -> pixel/255 float32 [N,1,28,28] (transforms.ToTensor())."""
    return torch.from_numpy(pixels.astype(np.float32) / 255).unsqueeze(1)


def size(path):
    return f'{os.path.normpath(path)} ({os.path.getsize(path)} bytes)'


def write_golden(data_dir):
    torch.manual_seed(0)
    model = build()
    g = torch.Generator().manual_seed(1)
    with torch.no_grad():
        model.fc_loc[2].weight.copy_(torch.randn(6, 32, generator=g) * 0.05)
        model.fc_loc[2].bias.add_(torch.randn(6, generator=g) * 0.05)
    model.eval()  # dropout off; gradients are still computed
    params = {k: v.detach().clone() for k, v in model.state_dict().items()}
    pixels, labels = load(data_dir, 't10k')
    x = as_input(pixels[:8]).requires_grad_(True)
    y = torch.from_numpy(labels[:8])
    acts = forward_recording(model, x, dropout=False)
    loss = F.nll_loss(acts['log_probs'], y)
    model.zero_grad()
    loss.backward()
    assert torch.equal(acts['log_probs'], model(normalize(x)))
    assert all(acts[k].grad is not None for k in NAMES)
    assert model.localization[0].weight.grad.abs().max() > 0, 'no gradient reaches the localisation net'

    # One plain SGD step on a copy (eval mode: dropout off, as above).
    step = build(); step.load_state_dict(params); step.eval()
    opt = torch.optim.SGD(step.parameters(), lr=0.01)
    opt.zero_grad(); F.nll_loss(step(normalize(x.detach())), y).backward(); opt.step()
    grads = dict(model.named_parameters())
    for k, v in step.state_dict().items():
        assert torch.allclose(v, params[k] - 0.01 * grads[k].grad, atol=1e-7), k

    path = os.path.join(ROOT, 'golden-tutorial.h5')
    with h5py.File(path, 'w') as f:
        put = compressed(f)
        f.attrs['model'] = 'tutorial'
        f.attrs['torch_version'] = str(torch.__version__)
        f.attrs['command'] = 'python3 tools/make_tutorial_fixtures.py'
        f.attrs['dropout'] = 'off (model.eval(); gradients computed in eval mode)'
        for k, v in params.items():
            put(f'params/{k}', v.numpy())
        put('input', x.detach().numpy())
        put('labels', y.numpy())
        for k in NAMES:
            put(f'act/{k}', acts[k].detach().numpy())
        put('loss', np.float32(loss.item()))
        for k, p in model.named_parameters():
            put(f'grad/{k}', p.grad.numpy())
        for k in NAMES:
            put(f'grad_act/{k}', acts[k].grad.numpy())
        for k, v in step.state_dict().items():
            put(f'after_step/{k}', v.numpy())
    theta = acts['theta'].detach()
    print(f'wrote {size(path)}, loss {loss.item():.6f}, '
          f'max |theta - identity| {(theta - torch.tensor([[1., 0, 0], [0, 1, 0]])).abs().max():.4f}')


def accuracy(model, pixels, labels):
    model.eval()
    correct = 0
    with torch.no_grad():
        for i in range(0, len(pixels), 1000):
            out = model(normalize(as_input(pixels[i:i + 1000])))
            correct += int((out.argmax(1).numpy() == labels[i:i + 1000]).sum())
    return correct / len(pixels)


def train(data_dir, epochs):
    """The tutorial's training: SGD lr 0.01, batch 64 (last batch 32), reshuffled every epoch."""
    pixels, labels = load(data_dir, 'train')
    inputs = normalize(as_input(pixels))
    targets = torch.from_numpy(labels)
    torch.manual_seed(1)
    model = build()
    optimizer = torch.optim.SGD(model.parameters(), lr=0.01)
    for epoch in range(1, epochs + 1):
        model.train()
        start, total, batches = time.time(), 0.0, 0
        order = torch.randperm(len(inputs))
        for i in range(0, len(inputs), 64):
            batch = order[i:i + 64]
            optimizer.zero_grad()
            loss = F.nll_loss(model(inputs[batch]), targets[batch])
            loss.backward()
            optimizer.step()
            total += loss.item(); batches += 1
        print(f'epoch {epoch}: mean training loss {total / batches:.4f} ({time.time() - start:.0f} s)')
    return model


def write_trained(model, data_dir):
    model.eval()
    path = os.path.join(ROOT, 'tutorial-pytorch.h5')
    with h5py.File(path, 'w') as f:
        for k, v in model.state_dict().items():
            f[k] = v.numpy()
    print(f'wrote {size(path)}')

    pixels, labels = load(data_dir, 't10k')
    acc = accuracy(model, pixels, labels)
    print(f'test accuracy of the trained tutorial model: {100 * acc:.2f}% '
          f'({round(acc * len(labels))} / {len(labels)} t10k digits)')
    x = as_input(pixels[:64])
    with torch.no_grad():
        acts = forward_recording(model, x, dropout=False)
        assert torch.equal(acts['log_probs'], model(normalize(x)))
    path = os.path.join(ROOT, 'tutorial-pytorch-expected.h5')
    with h5py.File(path, 'w') as f:
        put = compressed(f)
        f.attrs['model'] = 'tutorial'
        f.attrs['torch_version'] = str(torch.__version__)
        f.attrs['command'] = 'python3 tools/make_tutorial_fixtures.py'
        f.attrs['weights'] = 'tutorial-pytorch.h5'
        put('input', x.numpy())
        put('pixels', pixels[:64])
        put('labels', labels[:64])
        for k in ['log_probs', 'theta', 'transformed']:
            put(k, acts[k].numpy())
        put('test_accuracy', np.float64(acc))
    print(f'wrote {size(path)}')


if __name__ == '__main__':
    parser = argparse.ArgumentParser()
    parser.add_argument('--data', default=os.environ.get('STN_DATA', '../shared/data/mnist'))
    parser.add_argument('--epochs', type=int, default=2)
    args = parser.parse_args()
    torch.set_num_threads(1)
    print(f'torch {torch.__version__}')
    write_golden(args.data)
    write_trained(train(args.data, args.epochs), args.data)
