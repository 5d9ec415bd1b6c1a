"""Batched L-BFGS: many independent smooth problems of the same size solved side by side.

One L-BFGS over the *sum* of S independent objectives converges like its worst-conditioned member
and shares one step size among them; here every problem keeps its own curvature history, its own
Armijo backtracking step and its own stopping test, while every function evaluation is one batched
tensor computation over the problems still running (Nocedal & Wright 2006, alg. 7.4-7.5).
"""

from __future__ import annotations

from collections.abc import Callable

import torch


def batched_lbfgs(
    fun: Callable[[torch.Tensor, torch.Tensor], tuple[torch.Tensor, torch.Tensor]],
    theta: torch.Tensor,
    *,
    max_iter: int = 500,
    tol: float = 1e-7,
    history: int = 10,
    c1: float = 1e-4,
    max_backtrack: int = 30,
) -> tuple[torch.Tensor, torch.Tensor]:
    """Minimise S problems at once from `theta` (S, P).

    `fun(theta_sub, idx)` returns the objectives (k,) and gradients (k, P) of the problems `idx`
    (k,) at `theta_sub` (k, P). A problem stops when its largest |gradient| is <= tol. Returns
    (theta, iterations per problem).
    """
    theta = theta.clone()
    n, p = theta.shape
    device, dtype = theta.device, theta.dtype
    iterations = torch.zeros(n, dtype=torch.long, device=device)
    done = torch.zeros(n, dtype=torch.bool, device=device)
    f, g = fun(theta, torch.arange(n, device=device))
    s_hist = torch.zeros(history, n, p, dtype=dtype, device=device)
    y_hist = torch.zeros_like(s_hist)
    rho = torch.zeros(history, n, dtype=dtype, device=device)
    gamma = torch.zeros(n, dtype=dtype, device=device)  # 0: no curvature pair yet
    for it in range(max_iter):
        active = (~done & (g.abs().amax(1) > tol)).nonzero()[:, 0]
        if len(active) == 0:
            break
        fa, ga, x0 = f[active], g[active], theta[active]
        scale = torch.where(gamma[active] > 0, gamma[active], 1.0)
        direction = -_two_loop(ga, s_hist[:, active], y_hist[:, active], rho[:, active], scale, it)
        slope = (ga * direction).sum(1)
        uphill = slope >= 0  # stale curvature: fall back to steepest descent
        direction[uphill] = -ga[uphill]
        slope[uphill] = -(ga[uphill] ** 2).sum(1)
        # First step of a problem: length at most 1 along the gradient (as torch's L-BFGS does).
        step = torch.where(
            gamma[active] > 0, torch.ones_like(fa), (1.0 / ga.abs().sum(1)).clamp(max=1.0)
        )
        f_new, g_new = fun(x0 + step[:, None] * direction, active)
        for _ in range(max_backtrack):
            failed = ~(f_new <= fa + c1 * step * slope)
            if not failed.any():
                break
            step = torch.where(failed, step * 0.5, step)
            idx = failed.nonzero()[:, 0]
            f_new[idx], g_new[idx] = fun(x0[idx] + step[idx, None] * direction[idx], active[idx])
        moved = f_new <= fa + c1 * step * slope
        s_new = torch.where(moved[:, None], step[:, None] * direction, torch.zeros_like(x0))
        y_new = g_new - ga
        sy = (s_new * y_new).sum(1)
        yy = (y_new * y_new).sum(1)
        keep = moved & (sy > 1e-10 * yy.sqrt() * s_new.norm(dim=1))
        slot = it % history
        s_hist[slot, active] = torch.where(keep[:, None], s_new, torch.zeros_like(s_new))
        y_hist[slot, active] = torch.where(keep[:, None], y_new, torch.zeros_like(y_new))
        rho[slot, active] = torch.where(keep, 1.0 / sy.clamp_min(1e-300), torch.zeros_like(sy))
        gamma[active] = torch.where(keep, sy / yy.clamp_min(1e-300), gamma[active])
        theta[active] = x0 + s_new
        f[active] = torch.where(moved, f_new, fa)
        g[active] = torch.where(moved[:, None], g_new, ga)
        done[active[~moved]] = True  # no decrease along a descent direction: at working precision
        iterations[active] += 1
    return theta, iterations


def _two_loop(g, s_hist, y_hist, rho, scale, it: int) -> torch.Tensor:
    """The two-loop recursion, per problem: H g from its own (s, y) pairs (pairs left at zero
    contribute nothing) and the initial inverse Hessian `scale` x I (gamma = s.y / y.y)."""
    history = s_hist.shape[0]
    order = [(it - 1 - k) % history for k in range(min(it, history))]  # newest first
    q = g.clone()
    alphas = []
    for k in order:
        alpha = rho[k] * (s_hist[k] * q).sum(1)
        q -= alpha[:, None] * y_hist[k]
        alphas.append(alpha)
    q *= scale[:, None]
    for k, alpha in zip(reversed(order), reversed(alphas), strict=True):
        beta = rho[k] * (y_hist[k] * q).sum(1)
        q += s_hist[k] * (alpha - beta)[:, None]
    return q
