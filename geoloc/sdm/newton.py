"""Batched Newton for many weighted L2 logistic regressions that share one design matrix.

Species s minimises C * sum_i w_is logloss(y_is, x_i . theta_s) + ||coef_s||^2 / 2 (the intercept,
theta's last entry, unpenalised) over its own rows (w_is > 0). Newton converges in a handful of
steps where first-order methods take hundreds, and every step is a few large matrix products:

- rows used by several species (the shared target-group background) are one dense block: logits
  and gradients of all species are one (S, P) x (P, n) product each, and all S Hessians
  X' diag(v_s) X are ONE (S, n) @ (n, T) product with the rows' outer products x_i x_i' (upper
  triangle, T = P(P+1)/2 entries, built once);
- rows used by one species only (its presences) are packed per species into short zero-padded
  segments and go through batched products, so no species pays for the others' presences.

Above `dense_limit` parameters (wide embeddings) P x P Hessians cost too much (n P^2 per
species) and the Newton systems are solved by preconditioned CG on Hessian-vector products.
Shared rows beyond `hessian_rows` enter the Hessian as an even, reweighted subsample (the
gradient always uses every row, so the optimum is exact).

The heavy products run in float32 (bfloat16 Hessians proved indefinite); the Newton systems are
solved in float64 and the parameters accumulate in float64. The step length is found by
backtracking on the objective (Armijo), which any positive definite metric makes a descent
direction for; near the optimum, where float32 rounding hides the objective's change, on the
squared gradient norm (`_accepted`). Backtracking on the gradient norm alone let a species whose
held-out fold removed most of its presences walk off to |theta| ~ 1e4 with saturated logits and
stop there. Each species has its own step and stopping test and drops out of the products once
converged. Hessians are taken at each species' last evaluated point (after a rejected trial
step, that trial: still a valid positive definite metric).
"""

from __future__ import annotations

import numpy as np
import torch

_CACHE_BYTES = 512 * 2**20  # keep the shared rows' outer products when they fit in this
_CHUNK_ROWS = 1024  # otherwise rebuild them per Hessian, this many rows at a time
_SEGMENT = 64  # own rows are packed per species into zero-padded segments of this many rows
_ROUNDING = 1e-6  # relative error of an objective summed from float32 terms, with a margin


class LogisticBlocks:
    """The design split into a shared dense block and per-species own rows, on one device.

    `X` (N, P) already carries its intercept column; `pairs` (geoloc.sdm.learners.Pairs) are the
    weighted (row of X, species) entries with their targets, so only used entries reach the
    device; `class_weight` (2, S) optional multipliers of every species' background and presence
    rows. `C` scales the data term. `loss_and_gradient(theta, idx)` takes the full parameter
    matrix (S, P) and the species `idx` to evaluate.
    """

    def __init__(self, X, pairs, C: float, class_weight=None, hessian_rows: int = 4096):
        rows, species, y, w = pairs.rows, pairs.species, pairs.targets, pairs.weights
        if class_weight is not None:  # on the used entries only
            w = pairs.balanced_weights(class_weight)
        n_species = pairs.n_species
        shared_row = np.bincount(rows, minlength=len(X)) > 1
        in_shared = shared_row[rows]
        shared = np.flatnonzero(shared_row)
        at = (species[in_shared], np.searchsorted(shared, rows[in_shared]))
        # species-major: a subset of species is a block
        y_sh = np.zeros((n_species, len(shared)), dtype=np.float32)
        w_sh = np.zeros((n_species, len(shared)), dtype=np.float32)
        y_sh[at], w_sh[at] = y[in_shared], w[in_shared]
        own = np.flatnonzero(~in_shared)
        own = own[np.lexsort((rows[own], species[own]))]  # own rows grouped by species
        owner, y_own, w_own = species[own], y[own], w[own]
        f32 = torch.float32
        self.C, self.n_species, self.p = C, n_species, X.shape[1]
        self.device = X.device

        def tensor(array, dtype=f32):
            return torch.as_tensor(np.ascontiguousarray(array), dtype=dtype, device=self.device)

        self.X_sh = X[tensor(shared, torch.long)].to(f32)
        w_sh = tensor(w_sh)
        own_rows = tensor(rows[own], torch.long)
        owner, y_own, w_own = tensor(owner, torch.long), tensor(y_own), tensor(w_own)
        self.total_weight = w_sh.sum(1, dtype=torch.float64)
        self.total_weight.index_add_(0, owner, w_own.double())
        self.sign_sh = 1 - 2 * tensor(y_sh)
        self.signed_w_sh = w_sh * self.sign_sh
        # entry (a, b) of a P x P matrix -> its place in the upper triangle (one gather rebuilds
        # the full Hessians: much faster than scattering into both triangles)
        upper_rows, upper_cols = torch.triu_indices(self.p, self.p, device=self.device)
        upper = torch.zeros(self.p, self.p, dtype=torch.long, device=self.device)
        upper[upper_rows, upper_cols] = torch.arange(len(upper_rows), device=self.device)
        self.to_full = torch.maximum(upper, upper.T).flatten()
        # Hessians from an even subsample of the shared rows (every stride-th, reweighted)
        n_sh = len(self.X_sh)
        self.stride = max(1, n_sh // max(hessian_rows, 16 * self.p))
        self.X_hess = self.X_sh[:: self.stride]
        self.hess_weight = n_sh / max(len(self.X_hess), 1)
        fits = len(self.X_hess) * self.p * (self.p + 1) // 2 * 4 <= _CACHE_BYTES
        self.outer_sh = _outer(self.X_hess) if fits else None
        self.penalty = torch.ones(self.p, dtype=torch.float64, device=self.device)
        self.penalty[-1] = 0.0
        self._pack_own_rows(X[own_rows].to(f32), owner, y_own, w_own)
        self.v_sh = torch.zeros_like(self.signed_w_sh)
        self.v_seg = torch.zeros_like(self.signed_w_seg)

    def _pack_own_rows(self, X, owner, y, w):
        """Own rows (sorted by species) into (n_segments, _SEGMENT, P) zero-padded blocks, with
        their signs and signed weights (0 on padding) and each segment's species."""
        counts = torch.bincount(owner, minlength=self.n_species)
        n_segments = (counts + _SEGMENT - 1) // _SEGMENT
        first_row = torch.cumsum(counts, 0) - counts
        first_segment = torch.cumsum(n_segments, 0) - n_segments
        rank = torch.arange(len(owner), device=self.device) - first_row[owner]
        slot = first_segment[owner] * _SEGMENT + rank
        total = int(n_segments.sum())
        self.segment_owner = torch.repeat_interleave(
            torch.arange(self.n_species, device=self.device), n_segments
        )
        padded = torch.zeros(total * _SEGMENT, self.p, dtype=X.dtype, device=self.device)
        self.X_seg = padded.index_copy_(0, slot, X).view(total, _SEGMENT, self.p)
        sign, signed_w = torch.zeros(2, total * _SEGMENT, dtype=X.dtype, device=self.device)
        sign.index_copy_(0, slot, 1 - 2 * y)
        self.sign_seg = sign.view(total, _SEGMENT)
        self.signed_w_seg = signed_w.index_copy_(0, slot, w * (1 - 2 * y)).view(total, _SEGMENT)

    def _segments_of(self, idx: torch.Tensor):
        """Own-row segments of the species `idx`, and their species' positions in `idx`."""
        position = torch.full((self.n_species,), -1, dtype=torch.long, device=self.device)
        position[idx] = torch.arange(len(idx), device=self.device)
        at = position[self.segment_owner]
        if len(idx) == self.n_species:  # everyone: no gathers
            return slice(None), at
        segments = (at >= 0).nonzero()[:, 0]
        return segments, at[segments]

    def loss_and_gradient(self, theta: torch.Tensor, idx: torch.Tensor):
        """Objectives (k,) and gradients (k, P), float64, of the species `idx` at `theta`
        (S, P); keeps their curvature weights w p (1 - p) for the next `hessian(idx)`."""
        t = theta[idx].float()
        rows = slice(None) if len(idx) == self.n_species else idx
        r_sh, self.v_sh[rows], loss = _terms(
            t @ self.X_sh.T, self.sign_sh[rows], self.signed_w_sh[rows]
        )
        segments, at = self._segments_of(idx)
        x = self.X_seg[segments]
        z = (x @ t[at][..., None])[..., 0]
        r_seg, self.v_seg[segments], loss_seg = _terms(
            z, self.sign_seg[segments], self.signed_w_seg[segments]
        )
        loss.index_add_(0, at, loss_seg)
        grad = r_sh @ self.X_sh
        grad.index_add_(0, at, (r_seg[:, None, :] @ x)[:, 0])
        penalised = self.penalty * theta[idx]
        return (
            self.C * loss + 0.5 * (penalised * theta[idx]).sum(1),
            self.C * grad.double() + penalised,
        )

    def hessian_vector(self, d: torch.Tensor, idx: torch.Tensor) -> torch.Tensor:
        """Products H_s d_s (k, P), float64, with the Hessians of the species `idx` at their last
        `gradient` point: two thin products, no P x P matrix."""
        rows = slice(None) if len(idx) == self.n_species else idx
        t = d.float()
        out = ((t @ self.X_sh.T) * self.v_sh[rows]) @ self.X_sh
        segments, at = self._segments_of(idx)
        x = self.X_seg[segments]
        u = (x @ t[at][..., None])[..., 0] * self.v_seg[segments]
        out.index_add_(0, at, (u[:, None, :] @ x)[:, 0])
        return self.C * out.double() + self.penalty * d

    def hessian_diagonal(self, idx: torch.Tensor) -> torch.Tensor:
        """Diagonals (k, P) of the Hessians of the species `idx` (a CG preconditioner)."""
        rows = slice(None) if len(idx) == self.n_species else idx
        out = self.v_sh[rows] @ self.X_sh**2
        segments, at = self._segments_of(idx)
        x = self.X_seg[segments]
        out.index_add_(0, at, (self.v_seg[segments][..., None] * x**2).sum(1))
        return self.C * out.double() + self.penalty

    def hessian(self, idx: torch.Tensor) -> torch.Tensor:
        """Hessians (k, P, P), float64, of the species `idx` at their last `gradient` point."""
        v = self.v_sh[slice(None) if len(idx) == self.n_species else idx, :: self.stride]
        if self.outer_sh is not None:
            curvature = v @ self.outer_sh.T
        else:
            curvature = sum(
                v[:, i : i + _CHUNK_ROWS] @ _outer(self.X_hess[i : i + _CHUNK_ROWS]).T
                for i in range(0, len(self.X_hess), _CHUNK_ROWS)
            )
        full = curvature.index_select(1, self.to_full).view(len(idx), self.p, self.p)
        full *= self.hess_weight
        segments, at = self._segments_of(idx)
        x = self.X_seg[segments]
        full.index_add_(0, at, (x * self.v_seg[segments][..., None]).transpose(1, 2) @ x)
        full = full.double().mul_(self.C)
        full.diagonal(dim1=1, dim2=2).add_(self.penalty)
        return full


def _terms(z, sign, signed_w):
    """Gradient residuals w (p - y), curvature weights w p (1 - p) and per-species weighted
    log-losses (float64) of logits `z` (a fresh product, overwritten), with sign = 1 - 2y:
    p - y = sign q, p (1 - p) = q (1 - q) and logloss = softplus(sign z) for q = sigmoid(sign z)."""
    u = z.mul_(sign)
    loss = (torch.nn.functional.softplus(u) * signed_w * sign).sum(-1, dtype=torch.float64)
    q = u.sigmoid_()
    r = signed_w * q
    return r, q.neg_().add_(1).mul_(r).mul_(sign), loss


def _outer(x: torch.Tensor) -> torch.Tensor:
    """Row-wise outer products, upper triangle only, as (P(P+1)/2, n) (rows of the triangle
    contiguous: fast to build, and one GEMM with (k, n) weights gives k Hessians)."""
    xt = x.T.contiguous()
    p = xt.shape[0]
    out = torch.empty(p * (p + 1) // 2, xt.shape[1], dtype=x.dtype, device=x.device)
    start = 0
    for i in range(p):
        torch.mul(xt[i : i + 1], xt[i:], out=out[start : start + p - i])
        start += p - i
    return out


def batched_newton(
    blocks: LogisticBlocks,
    theta: torch.Tensor,
    scale: torch.Tensor,
    *,
    max_iter: int = 100,
    tol: float = 1e-4,
    chord_steps: int = 1,
    dense_limit: int = 256,
    species: torch.Tensor | None = None,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Minimise the objectives of the `species` (indices; default all) from `theta` (S, P),
    float64; the other rows of theta are returned as given.

    Each Hessian serves one Newton step and up to `chord_steps` more steps with the same factor
    (Shamanskii's method: far fewer Hessians, each the costly product, for cheap gradients). A
    species stops when max |gradient| / scale <= tol (`scale` (S,): its objective's natural size,
    e.g. C x its total weight, as sklearn's lbfgs scales its objective), or when a fresh Newton
    step makes no progress (working precision). With more than `dense_limit` parameters the
    Newton systems are solved by preconditioned conjugate gradients on Hessian-vector products
    instead (truncated Newton): forming P x P Hessians costs n P^2 per species. Returns (theta,
    steps per species).
    """
    theta = theta.clone()
    n = theta.shape[0]
    steps = torch.zeros(n, dtype=torch.long, device=theta.device)
    alive = torch.arange(n, device=theta.device) if species is None else species
    f, g = torch.zeros(n, dtype=theta.dtype, device=theta.device), torch.zeros_like(theta)
    f[alive], g[alive] = blocks.loss_and_gradient(theta, alive)
    for _ in range(max_iter):
        alive = alive[g[alive].abs().amax(1) / scale[alive] > tol]
        if len(alive) == 0:
            break
        if blocks.p > dense_limit:  # P x P Hessians cost more than CG on products
            direction = _conjugate_gradient(blocks, g[alive], alive)
            moved = _step(blocks, theta, f, g, alive, direction)
            steps[alive] += 1
            alive = alive[moved]
            continue
        factor = _cholesky(blocks.hessian(alive))
        moved = _step(blocks, theta, f, g, alive, _solve(factor, g[alive]))
        steps[alive] += 1
        alive, factor = alive[moved], factor[moved]
        for _ in range(chord_steps):
            chord = (g[alive].abs().amax(1) / scale[alive] > tol) & (steps[alive] < max_iter)
            if not chord.any():
                break
            idx = alive[chord]
            moved = _step(blocks, theta, f, g, idx, _solve(factor[chord], g[idx]))
            steps[alive[chord]] += moved.long()
        if (steps[alive] >= max_iter).all():
            break
    return theta, steps


def _cholesky(hessian: torch.Tensor) -> torch.Tensor:
    """Cholesky factors, with a touch of ridge where one is numerically singular."""
    factor, info = torch.linalg.cholesky_ex(hessian)
    bad = info > 0
    if bad.any():
        jitter = 1e-8 * hessian[bad].diagonal(dim1=1, dim2=2).abs().amax(1) + 1e-12
        eye = torch.eye(hessian.shape[1], dtype=hessian.dtype, device=hessian.device)
        factor[bad] = torch.linalg.cholesky(hessian[bad] + jitter[:, None, None] * eye)
    return factor


def _solve(factor: torch.Tensor, g: torch.Tensor) -> torch.Tensor:
    """Newton directions -H^-1 g from Cholesky factors."""
    return -torch.cholesky_solve(g[..., None], factor)[..., 0]


def _conjugate_gradient(blocks, g, idx, max_iter: int = 100) -> torch.Tensor:
    """Approximate Newton directions -H^-1 g by Jacobi-preconditioned CG, per species, to a
    relative residual of min(0.5, sqrt(|g|)) (Eisenstat-Walker: superlinear near the optimum)."""
    inverse_diagonal = 1.0 / blocks.hessian_diagonal(idx)
    target = torch.clamp((g * g).sum(1).sqrt().sqrt(), max=0.5) * (g * g).sum(1).sqrt()
    x = torch.zeros_like(g)
    r = -g.clone()
    z = inverse_diagonal * r
    p = z.clone()
    rz = (r * z).sum(1)
    for _ in range(max_iter):
        running = r.norm(dim=1) > target
        if not running.any():
            break
        hp = blocks.hessian_vector(p, idx)
        alpha = torch.where(running, rz / (p * hp).sum(1).clamp_min(1e-300), 0.0)
        x += alpha[:, None] * p
        r -= alpha[:, None] * hp
        z = inverse_diagonal * r
        rz_new = (r * z).sum(1)
        p = z + (rz_new / rz.clamp_min(1e-300))[:, None] * p
        rz = rz_new
    return x


def _step(blocks, theta, f, g, idx, direction, c1: float = 0.1, max_backtrack: int = 12):
    """One (quasi-)Newton step along `direction` for the species `idx`, in place on `theta`,
    its objectives `f` and gradients `g`: backtracking until `_accepted`. Returns which species
    moved."""
    x0, f0, g0 = theta[idx], f[idx], g[idx]
    slope = (g0 * direction).sum(1).clamp_max(0.0)
    merit = (g0 * g0).sum(1)
    step = torch.ones_like(merit)
    trial = theta.clone()
    trial[idx] = x0 + direction
    f_new, g_new = blocks.loss_and_gradient(trial, idx)
    for _ in range(max_backtrack):
        failed = ~_accepted(f0, f_new, slope, merit, g_new, step, c1)
        if not failed.any():
            break
        step = torch.where(failed, 0.5 * step, step)
        trial[idx] = x0 + step[:, None] * direction
        f_new[failed], g_new[failed] = blocks.loss_and_gradient(trial, idx[failed])
    moved = _accepted(f0, f_new, slope, merit, g_new, step, c1)
    theta[idx] = torch.where(moved[:, None], trial[idx], x0)
    f[idx] = torch.where(moved, f_new, f0)
    g[idx] = torch.where(moved[:, None], g_new, g0)
    return moved


def _accepted(f0, f_new, slope, merit, g_new, step, c1):
    """A step is taken when the objective drops enough (Armijo: f0 + c1 step g.d), or, where
    the change of the objective is within its float32 rounding (near the optimum), when the
    squared gradient norm drops enough (the Newton direction is a descent direction for it).
    The objective never rises beyond rounding, so no step walks away from the optimum."""
    armijo = f_new <= f0 + c1 * step * slope
    level = f_new <= f0 + _ROUNDING * f0.abs()
    gradient_drop = (g_new * g_new).sum(1) <= (1 - 2 * c1 * step) * merit
    return armijo | (level & gradient_drop)
