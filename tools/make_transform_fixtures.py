#!/usr/bin/env python3
"""Writes Tests/Fixtures/golden-transforms.h5: the four grid generators of tools/transforms.py
(see its docstring for the exact conventions) evaluated by PyTorch, with autograd gradients.

Layout (float32 unless noted; every dataset gzip+shuffle compressed; N = 5, H = 7, W = 9,
P = 6 / 3 / 8 / 32 for affine / attention / projective / tps):

  <T>/align0/, <T>/align1/   for T in affine, attention, projective, tps
      theta       [5, P]        identity + 0.15 * randn (fixed seed), except projective (below)
      grid        [5, 7, 9, 2]  generator(theta, H=7, W=9, align_corners = 0 / 1)
      upstream    [5, 7, 9, 2]  random
      grad_theta  [5, P]        d sum(grid * upstream) / d theta
  tps/matrix_align0  [63, 16] float64   M for H=7, W=9, align_corners=False (row i * 9 + j)
  <T>/sampled/               for each T, at align_corners = False, theta = <T>/align0/theta
      image       [5, 1, 10, 12]  random
      upstream    [5, 1, 7, 9]    random
      output      [5, 1, 7, 9]    F.grid_sample(image, grid, mode='bilinear',
                                  padding_mode='zeros', align_corners=False)
      grad_theta  [5, P]          d sum(output * upstream) / d theta (image held fixed)

Projective theta: images 0-3 are identity + 0.15 * randn for p0..p5 and 0.1 * randn for p6, p7
(the same values in align0 and align1). Image 4 (index GUARD_IMAGE) exercises the w guard: its
p0..p5 are identity + 0.15 * randn too, but its (p6, p7) make w = p6 x + p7 y + 1 cross zero
inside the grid, and differ between the two groups so each lands on clamped pixels with a
wide margin (no |w| within 1e-4 of 0 or of the 1e-3 threshold except an exact zero):
  align0: (p6, p7) = (1.25, 0.1953125): pixel (i, j) = (0, 1) has w = -7.4e-4 (-> w' = -1e-3),
          pixel (5, 0) has w = +5.0e-4 (-> +1e-3); every other |w| >= 5.5e-2.
  align1: (p6, p7) = (0.4453125, 1): pixel (0, 4) (x = 0, y = -1) has w exactly +0.0 in any
          evaluation order (sign(0) = +1 -> w' = +1e-3), pixel (1, 1) has w = -6.5e-4
          (-> -1e-3); every other |w| >= 0.11.
At the clamped pixels image 4's grid is (u, v) / +-1e-3, so its |grid| reaches ~1.3e3 and its
grad_theta ~3e3: compare with a relative tolerance.

Checks before writing (assertions): attention equals affine for [[s, 0, tx], [0, s, ty]] (grid
and gradient); tps at its identity equals the base grid within 1e-5; projective at identity
equals affine at identity; guard pixels are as described; gradcheck in float64 of every
generator; the rows of M sum to 1.

Usage: python3 tools/make_transform_fixtures.py [--out Tests/Fixtures/golden-transforms.h5]
"""
import argparse, os, sys
import numpy as np
import h5py
import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import transforms as T

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', 'Tests', 'Fixtures')
N, H, W = 5, 7, 9
IMG_H, IMG_W = 10, 12
SEED = 20240607
GUARD_IMAGE = 4
GUARD_P67 = {0: (1.25, 0.1953125), 1: (0.4453125, 1.0)}
NAMES = ['affine', 'attention', 'projective', 'tps']


def compressed(f):
    def put(key, value):
        value = np.asarray(value)
        f.create_dataset(key, data=value, compression='gzip', compression_opts=9, shuffle=True)
    return put


def grid_and_grad(name, theta, align, upstream):
    th = theta.clone().requires_grad_(True)
    grid = T.GENERATORS[name](th, H, W, bool(align))
    (grid * upstream).sum().backward()
    return grid.detach(), th.grad.detach()


def sampled(name, theta, image, upstream):
    th = theta.clone().requires_grad_(True)
    grid = T.GENERATORS[name](th, H, W, False)
    out = F.grid_sample(image, grid, mode='bilinear', padding_mode='zeros', align_corners=False)
    (out * upstream).sum().backward()
    return out.detach(), th.grad.detach()


def make_thetas(g):
    """{name: {align: theta [N, P] float32}}."""
    out = {}
    for name in NAMES:
        P = T.PARAMS[name]
        ident = T.identity(name)
        if name == 'projective':
            noise = torch.cat((0.15 * torch.randn(N, 6, generator=g),
                               0.10 * torch.randn(N, 2, generator=g)), dim=1)
            base = ident + noise
            out[name] = {}
            for align, (p6, p7) in GUARD_P67.items():
                th = base.clone()
                th[GUARD_IMAGE, 6] = p6
                th[GUARD_IMAGE, 7] = p7
                out[name][align] = th
        else:
            th = ident + 0.15 * torch.randn(N, P, generator=g)
            out[name] = {0: th, 1: th.clone()}
    return out


def check_guard(theta, align):
    b = T.base_grid(H, W, bool(align))
    p6, p7 = theta[GUARD_IMAGE, 6], theta[GUARD_IMAGE, 7]
    w = p6 * b[..., 0] + p7 * b[..., 1] + 1
    aw = w.abs()
    clamped = aw < T.GUARD_EPS
    exact0 = w == 0
    assert not (((aw < 1e-4) & ~exact0) | ((aw > 9e-4) & (aw < 5e-2))).any(), 'guard margin'
    pix = [(i, j, w[i, j].item()) for i, j in clamped.nonzero().tolist()]
    if align == 0:
        assert [(i, j) for i, j, _ in pix] == [(0, 1), (5, 0)], pix
        assert pix[0][2] < 0 < pix[1][2], pix
    else:
        assert [(i, j) for i, j, _ in pix] == [(0, 4), (1, 1)], pix
        assert pix[0][2] == 0 and pix[1][2] < 0, pix
    # the grid at the clamped pixels is (u, v) / +-1e-3, and p6, p7 get no gradient from them
    th = theta[GUARD_IMAGE:GUARD_IMAGE + 1].clone().requires_grad_(True)
    grid = T.projective_grid(th, H, W, bool(align))
    for i, j, wv in pix:
        sgn = 1.0 if wv >= 0 else -1.0
        u = (th[0, 0] * b[i, j, 0] + th[0, 1] * b[i, j, 1] + th[0, 2]).item()
        assert abs(grid[0, i, j, 0].item() - u / (sgn * 1e-3)) <= 1e-3 * abs(u / 1e-3) + 1e-3
        gr, = torch.autograd.grad(grid[0, i, j].sum(), th, retain_graph=True)
        assert gr[0, 6] == 0 and gr[0, 7] == 0, gr
    return pix


def verify(thetas):
    torch.manual_seed(0)
    for align in (0, 1):
        ac = bool(align)
        # attention == affine of [[s, 0, tx], [0, s, ty]], grid and gradient
        a = thetas['attention'][align]
        six = torch.stack((a[:, 0], torch.zeros(N), a[:, 1],
                           torch.zeros(N), a[:, 0], a[:, 2]), dim=1)
        up = torch.randn(N, H, W, 2)
        ga, da = grid_and_grad('attention', a, align, up)
        gf, df = grid_and_grad('affine', six, align, up)
        assert torch.allclose(ga, gf, atol=1e-6, rtol=0), (ga - gf).abs().max()
        dmap = torch.stack((df[:, 0] + df[:, 4], df[:, 2], df[:, 5]), dim=1)
        assert torch.allclose(da, dmap, atol=1e-4, rtol=1e-5), (da - dmap).abs().max()
        # identities
        base = T.base_grid(H, W, ac).expand(1, H, W, 2)
        g_aff = T.affine_grid(T.identity('affine')[None], H, W, ac)
        assert torch.equal(g_aff, base), 'affine identity != base grid'
        g_proj = T.projective_grid(T.identity('projective')[None], H, W, ac)
        assert torch.equal(g_proj, g_aff), 'projective identity != affine identity'
        g_att = T.attention_grid(T.identity('attention')[None], H, W, ac)
        assert torch.equal(g_att, g_aff), 'attention identity != affine identity'
        g_tps = T.tps_grid(T.identity('tps')[None], H, W, ac)
        err = (g_tps - base).abs().max().item()
        assert err < 1e-5, err
        print(f'align{align}: tps identity max |grid - base| = {err:.2e}')
        M = T.tps_matrix(H, W, ac)
        assert torch.allclose(M.sum(1), torch.ones(H * W, dtype=torch.float64), atol=1e-12)
        # TPS reproduces the control points: M on a grid made of the control points is I
        # (checked via the 4 x 4 output grid with align_corners=True)
        M4 = T.tps_matrix(4, 4, True)
        assert torch.allclose(M4, torch.eye(16, dtype=torch.float64), atol=1e-12)
        print(f'align{align}: guard pixels (i, j, w) =', check_guard(thetas['projective'][align], align))
    # gradcheck in float64 (small grid, away from the guard threshold)
    for name in NAMES:
        th = (T.identity(name).double() + 0.1 * torch.randn(2, T.PARAMS[name], dtype=torch.float64))
        for ac in (False, True):
            fn = lambda t: T.GENERATORS[name](t, 3, 4, ac)
            assert torch.autograd.gradcheck(fn, (th.clone().requires_grad_(True),)), name
    print('checks passed')


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--out', default=os.path.join(ROOT, 'golden-transforms.h5'))
    args = ap.parse_args()
    torch.set_num_threads(1)
    g = torch.Generator().manual_seed(SEED)
    thetas = make_thetas(g)
    verify(thetas)

    with h5py.File(args.out, 'w') as f:
        put = compressed(f)
        f.attrs['generator'] = 'tools/make_transform_fixtures.py'
        f.attrs['torch_version'] = str(torch.__version__)
        f.attrs['projective_guard_image'] = GUARD_IMAGE
        for name in NAMES:
            for align in (0, 1):
                theta = thetas[name][align]
                up = torch.randn(N, H, W, 2, generator=g)
                grid, dtheta = grid_and_grad(name, theta, align, up)
                grp = f'{name}/align{align}'
                put(f'{grp}/theta', theta.numpy())
                put(f'{grp}/grid', grid.numpy())
                put(f'{grp}/upstream', up.numpy())
                put(f'{grp}/grad_theta', dtheta.numpy())
                print(f'{grp}: |grid| max {grid.abs().max():.3g}, '
                      f'|grad_theta| max {dtheta.abs().max():.3g}')
            if name == 'tps':
                put('tps/matrix_align0', T.tps_matrix(H, W, False).numpy())
            image = torch.rand(N, 1, IMG_H, IMG_W, generator=g)
            up2 = torch.randn(N, 1, H, W, generator=g)
            out, dtheta = sampled(name, thetas[name][0], image, up2)
            put(f'{name}/sampled/image', image.numpy())
            put(f'{name}/sampled/upstream', up2.numpy())
            put(f'{name}/sampled/output', out.numpy())
            put(f'{name}/sampled/grad_theta', dtheta.numpy())
    print(f'wrote {args.out} ({os.path.getsize(args.out)} bytes)')


if __name__ == '__main__':
    main()
