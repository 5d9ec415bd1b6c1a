"""Choosing the hybrid's thresholds on validation for a target coverage, and the
accuracy-coverage curve those choices trace.

For each pair (classifier_high, prototype_rare) on a grid of validation quantiles, the
classifier_low threshold is the one that makes validation coverage reach the target; among the
pairs that can, the most accurate on covered validation samples wins.
"""

from __future__ import annotations

import math

import numpy as np

from geoloc.identify.hybrid import REJECTED, Thresholds, route_tops

NEVER = math.inf


def _candidates(conf: np.ndarray, n: int) -> list[float]:
    finite = conf[np.isfinite(conf)]
    levels = np.quantile(finite, np.linspace(0.0, 1.0, n)) if len(finite) else np.zeros(0)
    return sorted({float(v) for v in levels} | {NEVER})


def calibrate_thresholds(
    tops: tuple[np.ndarray, ...], y: np.ndarray, target_coverage: float, grid: int = 21
) -> Thresholds:
    """Thresholds whose validation coverage is the smallest reachable value >= target; `tops`
    are the validation samples' component tops (geoloc.identify.hybrid.component_tops)."""
    clf_top, clf_conf, proto_top, proto_conf = tops
    n = len(y)
    need = math.ceil(target_coverage * n - 1e-9)
    best, best_key = None, None
    for high in _candidates(clf_conf, grid):
        for rare in _candidates(proto_conf, grid):
            first = route_tops(*tops, Thresholds(high, rare, NEVER))
            covered = first.pred != REJECTED
            missing = need - int(covered.sum())
            rest = np.sort(clf_conf[~covered & np.isfinite(clf_conf)])[::-1]
            if missing <= 0:
                low = NEVER
            elif missing <= len(rest):
                low = float(min(rest[missing - 1], high))
            else:
                continue
            thresholds = Thresholds(high, rare, low)
            routed = route_tops(*tops, thresholds)
            hit = routed.pred != REJECTED
            accuracy = (routed.pred[hit] == y[hit]).mean() if hit.any() else 0.0
            key = (-abs(hit.mean() - target_coverage), accuracy)
            if best_key is None or key > best_key:
                best, best_key = thresholds, key
    if best is None:  # the target is not reachable: answer everything the components can
        best = Thresholds(NEVER, 0.0, 0.0)
    return best


def accuracy_coverage_curve(
    val: tuple[tuple, np.ndarray],
    test: tuple[tuple, np.ndarray],
    targets: np.ndarray | None = None,
    grid: int = 11,
) -> list[dict]:
    """For each target coverage: calibrate on `val` (component tops, y), measure on `test`."""
    targets = np.linspace(0.1, 1.0, 10) if targets is None else targets
    points = []
    for target in targets:
        thr = calibrate_thresholds(*val, float(target), grid=grid)
        tops, y = test
        routed = route_tops(*tops, thr)
        hit = routed.pred != REJECTED
        points.append(
            {
                "target": float(target),
                "coverage": float(hit.mean()),
                "accuracy": float((routed.pred[hit] == y[hit]).mean()) if hit.any() else None,
            }
        )
    return points
