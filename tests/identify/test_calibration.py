"""Threshold calibration for a target coverage and the accuracy-coverage curve."""

from __future__ import annotations

import math

import numpy as np
import pytest

from geoloc.identify.calibration import accuracy_coverage_curve, calibrate_thresholds
from geoloc.identify.hybrid import REJECTED, Thresholds, component_tops, route, summarize
from geoloc.identify.ranked import Ranked


def _tops(clf, proto, common_idx, rare_mask):
    return component_tops(Ranked.of(clf), Ranked.of(proto), common_idx, rare_mask)


def test_calibration_hits_the_target_coverage_on_validation():
    rng = np.random.default_rng(0)
    n, common_idx, rare_mask = 400, np.arange(6), np.array([False] * 6 + [True] * 4)
    y = rng.integers(0, 10, n)
    clf = rng.dirichlet(np.ones(6) * 0.5, n)
    proto = rng.dirichlet(np.ones(10) * 0.5, n)
    for target in (0.5, 0.7, 0.88):
        thr = calibrate_thresholds(_tops(clf, proto, common_idx, rare_mask), y, target)
        covered = route(clf, proto, common_idx, rare_mask, thr).pred != REJECTED
        assert math.ceil(target * n) / n <= covered.mean() <= target + 2 / n


def test_calibration_prefers_accurate_routes_and_curve_is_monotone_in_coverage():
    rng = np.random.default_rng(1)
    n, common_idx, rare_mask = 300, np.arange(3), np.array([False] * 3 + [True] * 3)
    y = rng.integers(0, 6, n)
    # informative components: correct class gets extra mass, more so when confident
    clf = rng.dirichlet(np.ones(3), n)
    proto = rng.dirichlet(np.ones(6), n)
    for i in range(n):
        if y[i] < 3:
            clf[i, y[i]] += 1.0
        proto[i, y[i]] += 1.0
    clf /= clf.sum(1, keepdims=True)
    proto /= proto.sum(1, keepdims=True)
    tops = _tops(clf, proto, common_idx, rare_mask)
    thr = calibrate_thresholds(tops, y, 0.6)
    routed = route(clf, proto, common_idx, rare_mask, thr)
    stats = summarize(routed, y, rare_mask)
    full = summarize(route(clf, proto, common_idx, rare_mask, Thresholds(0, 0, 0)), y, rare_mask)
    assert stats["accuracy"] > full["accuracy"]  # rejecting the unsure raises accuracy
    assert stats["share_rejected"] == pytest.approx(1 - stats["coverage"])
    curve = accuracy_coverage_curve((tops, y), (tops, y))
    coverages = [p["coverage"] for p in curve]
    assert coverages == sorted(coverages) and coverages[-1] == 1.0
