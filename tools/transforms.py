#!/usr/bin/env python3
"""PyTorch reference for the four grid generators (affine, attention, projective, tps).

Every generator is written with torch operations on the theta tensor, so autograd gives
d grid / d theta; `make_transform_fixtures.py` stores grids and gradients from these functions
as the Swift implementation's golden values.

Conventions (the contract the Swift side implements)
----------------------------------------------------
A grid generator maps theta [N, P] (P parameters per image) to a sampling grid [N, H, W, 2]
in normalised coordinates: grid[n, i, j, 0] is x (horizontal, -1 = left edge), grid[n, i, j, 1]
is y (vertical, -1 = top edge) -- what F.affine_grid produces and F.grid_sample consumes.

Base grid. Output pixel (i, j) (row i < H, column j < W) has base coordinates
    x_j = lin(W)[j] * (W - 1) / W,   y_i = lin(H)[i] * (H - 1) / H   (align_corners = False)
    x_j = lin(W)[j],                 y_i = lin(H)[i]                 (align_corners = True)
with lin(n) = torch.linspace(-1, 1, n) (lin(1) = [-1]), exactly as F.affine_grid builds its
base grid (in float32: (lin * (n - 1)) / n). Note torch's float32 linspace is computed from both
ends and is not always the naive -1 + 2 j / (n - 1) to the last bit: linspace(-1, 1, 7)[3] is
-2.98e-8, not 0. The differences are ~1 ulp; compare with a tolerance, not bitwise.

1. affine, P = 6: theta row-major 2x3 [[t0, t1, t2], [t3, t4, t5]];
       x' = t0 x + t1 y + t2,  y' = t3 x + t4 y + t5
   exactly F.affine_grid(theta.view(N, 2, 3), (N, 1, H, W), align_corners).
   Identity (1, 0, 0, 0, 1, 0).

2. attention, P = 3: theta = (s, tx, ty); the affine grid of [[s, 0, tx], [0, s, ty]]:
       x' = s x + tx,  y' = s y + ty.
   Identity (1, 0, 0).

3. projective, P = 8: theta = (p0 .. p7);
       u = p0 x + p1 y + p2,  v = p3 x + p4 y + p5,  w = p6 x + p7 y + 1,
       x' = u / w',  y' = v / w',
   where w' guards w away from zero:
       w' = w                    if |w| >= 1e-3
       w' = +1e-3                if |w| <  1e-3 and w >= 0   (sign(0) = +1; -0.0 counts as +)
       w' = -1e-3                if |w| <  1e-3 and w <  0
   and d w' / d w = 1 where w' = w, 0 where the guard clamps (torch.where: the clamped pixel
   still passes gradient to p0..p5 through u and v, none to p6, p7).
   Identity (1, 0, 0, 0, 1, 0, 0, 0).

4. tps (thin-plate spline), P = 32: 16 control points on a 4 x 4 grid, base points
       c_k = (lin(4)[col], lin(4)[row]),  k = row * 4 + col  (row-major: y outer, x inner),
   lin(4) = (-1, -1/3, 1/3, 1). theta holds the 16 TARGET points interleaved:
       theta[2k] = x'_k,  theta[2k + 1] = y'_k     (i.e. theta.view(N, 16, 2)).
   The spline T maps c_k to (x'_k, y'_k):
       T(p) = a0 + a1 x + a2 y + sum_k w_k U(|p - c_k|),  U(r) = r^2 log(r^2), U(0) = 0,
   separately for the x and the y targets. Solved in float64 with the 19 x 19 system
       L = [[K, P], [P^T, 0]],  K_ij = U(|c_i - c_j|),  P_i = [1, x_i, y_i],
       [w; a] = L^-1 [targets; 0; 0; 0],
   so T(p) = row(p) @ L^-1[:, :16] @ targets with row(p) = [U(|p - c_1|) .. U(|p - c_16|), 1, x, y].
   M = [row(p_ij) @ L^-1[:, :16]] over the base grid (pixel ij -> row i * W + j) is a fixed
   (H*W x 16) matrix, computed once in float64 (base coordinates in float64 as well) and cast
   to float32; the grid is M32 @ targets (float32), per image, x and y columns separately:
       grid[n].view(H*W, 2) = M32 @ theta[n].view(16, 2).
   (U is evaluated on r^2 directly: U = r2 * log(r2), 0 where r2 == 0.) Every row of M sums
   to 1 and M reproduces affine maps exactly (up to rounding), so at the identity (targets =
   base points) the grid equals the base grid within ~1e-7.
   Identity: theta = the base points interleaved (float32 lin(4)).

All functions take theta of any float dtype (float32 for the fixtures; float64 works for
gradcheck) and return a grid of the same dtype.
"""
import torch
import torch.nn.functional as F

PARAMS = {'affine': 6, 'attention': 3, 'projective': 8, 'tps': 32}
GUARD_EPS = 1e-3
TPS_SIDE = 4


def _lin(n, align_corners, dtype=torch.float32):
    """Base coordinates along one axis, as F.affine_grid computes them."""
    r = torch.linspace(-1, 1, n, dtype=dtype)
    if not align_corners:
        r = r * (n - 1) / n
    return r


def base_grid(H, W, align_corners, dtype=torch.float32):
    """[H, W, 2] base grid (x, y)."""
    x = _lin(W, align_corners, dtype)
    y = _lin(H, align_corners, dtype)
    return torch.stack(torch.broadcast_tensors(x[None, :], y[:, None]), dim=-1)


def affine_grid(theta, H, W, align_corners):
    N = theta.shape[0]
    return F.affine_grid(theta.reshape(N, 2, 3), (N, 1, H, W), align_corners=align_corners)


def attention_grid(theta, H, W, align_corners):
    """Direct formula (not via F.affine_grid, so the affine cross-check means something)."""
    b = base_grid(H, W, align_corners, theta.dtype)          # [H, W, 2]
    s = theta[:, 0].view(-1, 1, 1, 1)
    t = theta[:, 1:3].view(-1, 1, 1, 2)
    return s * b + t


def projective_grid(theta, H, W, align_corners):
    b = base_grid(H, W, align_corners, theta.dtype)
    x = b[..., 0]                                              # [H, W]
    y = b[..., 1]
    p = [theta[:, k].view(-1, 1, 1) for k in range(8)]
    u = p[0] * x + p[1] * y + p[2]
    v = p[3] * x + p[4] * y + p[5]
    w = p[6] * x + p[7] * y + 1
    clamped = torch.where(w >= 0, torch.full_like(w, GUARD_EPS), torch.full_like(w, -GUARD_EPS))
    wg = torch.where(w.abs() < GUARD_EPS, clamped, w)
    return torch.stack((u / wg, v / wg), dim=-1)


def tps_control_points(dtype=torch.float64):
    """[16, 2] base points c_k = (lin(4)[k % 4], lin(4)[k // 4])."""
    c = torch.linspace(-1, 1, TPS_SIDE, dtype=dtype)
    cy, cx = torch.meshgrid(c, c, indexing='ij')
    return torch.stack((cx.reshape(-1), cy.reshape(-1)), dim=-1)


def _U(r2):
    safe = torch.where(r2 > 0, r2, torch.ones_like(r2))
    return torch.where(r2 > 0, r2 * torch.log(safe), torch.zeros_like(r2))


def tps_matrix(H, W, align_corners):
    """M [H*W, 16] float64: grid.view(H*W, 2) = M @ targets.view(16, 2)."""
    c = tps_control_points(torch.float64)                     # [16, 2]
    K = _U(((c[:, None, :] - c[None, :, :]) ** 2).sum(-1))    # [16, 16]
    P = torch.cat((torch.ones(16, 1, dtype=torch.float64), c), dim=1)   # [16, 3]
    L = torch.zeros(19, 19, dtype=torch.float64)
    L[:16, :16] = K
    L[:16, 16:] = P
    L[16:, :16] = P.T
    Linv = torch.linalg.inv(L)
    p = base_grid(H, W, align_corners, torch.float64).reshape(-1, 2)    # [HW, 2]
    rows = torch.cat((_U(((p[:, None, :] - c[None, :, :]) ** 2).sum(-1)),
                      torch.ones(p.shape[0], 1, dtype=torch.float64), p), dim=1)  # [HW, 19]
    return rows @ Linv[:, :16]


_TPS_CACHE = {}


def tps_grid(theta, H, W, align_corners):
    key = (H, W, bool(align_corners))
    if key not in _TPS_CACHE:
        _TPS_CACHE[key] = tps_matrix(H, W, align_corners).to(torch.float32)
    M = _TPS_CACHE[key].to(theta.dtype)                       # float32 M for float32 theta
    N = theta.shape[0]
    return torch.matmul(M, theta.reshape(N, 16, 2)).reshape(N, H, W, 2)


GENERATORS = {'affine': affine_grid, 'attention': attention_grid,
              'projective': projective_grid, 'tps': tps_grid}


def identity(name):
    """Identity parameters [P] (float32)."""
    if name == 'affine':
        return torch.tensor([1., 0., 0., 0., 1., 0.])
    if name == 'attention':
        return torch.tensor([1., 0., 0.])
    if name == 'projective':
        return torch.tensor([1., 0., 0., 0., 1., 0., 0., 0.])
    if name == 'tps':
        return tps_control_points(torch.float32).reshape(-1)
    raise ValueError(name)
