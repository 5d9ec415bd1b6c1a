"""Split stratification, routing order, rejection and threshold calibration (numpy only)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from geoloc.errors import GeolocError
from geoloc.identify.calibration import accuracy_coverage_curve, calibrate_thresholds
from geoloc.identify.hybrid import METHODS, REJECTED, Thresholds, route, summarize
from geoloc.identify.split import stratified_split


def test_split_is_stratified_deterministic_and_partitions():
    labels = np.repeat(np.arange(5), [200, 80, 30, 10, 3])
    a = stratified_split(labels, 0.15, 0.15, seed=7)
    b = stratified_split(labels, 0.15, 0.15, seed=7)
    c = stratified_split(labels, 0.15, 0.15, seed=8)
    for x, y in zip(a, b, strict=True):
        np.testing.assert_array_equal(x, y)
    assert not np.array_equal(a[0], c[0])
    assert np.array_equal(np.sort(np.concatenate(a)), np.arange(len(labels)))
    for cls, n in enumerate([200, 80, 30, 10, 3]):
        n_val, n_test = (np.sum(labels[p] == cls) for p in a[1:])
        assert n_val >= 1 and n_test >= 1  # every class is evaluated, rare ones too
        assert abs(n_val - 0.15 * n) <= 1 and abs(n_test - 0.15 * n) <= 1


def test_split_rejects_bad_fractions():
    with pytest.raises(GeolocError):
        stratified_split(np.zeros(10), 0.6, 0.5, seed=0)


def _fixture():
    """Species 0, 1 common (classifier columns 0, 1); 2, 3 rare. One sample per route."""
    common_idx = np.array([0, 1])
    rare_mask = np.array([False, False, True, True])
    clf = np.array(
        [
            [0.95, 0.05],  # confident classifier ... even though the prototype says rare 2
            [0.60, 0.40],  # low classifier, prototype confident on rare species 3
            [0.30, 0.70],  # low classifier, prototype's top is common -> classifier_low
            [0.52, 0.48],  # nothing confident -> rejected
            [0.60, 0.40],  # prototype on rare species but below its threshold -> classifier_low
        ]
    )
    proto = np.array(
        [
            [0.00, 0.00, 0.99, 0.01],
            [0.05, 0.05, 0.00, 0.90],
            [0.10, 0.80, 0.05, 0.05],
            [0.30, 0.30, 0.40, 0.00],
            [0.30, 0.20, 0.50, 0.00],
        ]
    )
    return clf, proto, common_idx, rare_mask


def test_routing_follows_the_fixed_order_and_rejects_with_unknown():
    clf, proto, common_idx, rare_mask = _fixture()
    routed = route(clf, proto, common_idx, rare_mask, Thresholds(0.9, 0.8, 0.55))
    assert list(routed.method) == [
        "classifier_common",
        "prototype_rare",
        "classifier_common_low",
        "rejected",
        "classifier_common_low",
    ]
    np.testing.assert_array_equal(routed.pred, [0, 3, 1, REJECTED, 0])
    np.testing.assert_allclose(routed.confidence[:3], [0.95, 0.90, 0.70])
    assert set(routed.method) <= set(METHODS)


def test_classifier_confident_wins_over_prototype():
    # the same sample routed by both rules goes to the classifier, which comes first
    clf, proto, common_idx, rare_mask = _fixture()
    routed = route(clf[:1], proto[:1], common_idx, rare_mask, Thresholds(0.9, 0.5, 0.0))
    assert routed.method[0] == "classifier_common" and routed.pred[0] == 0
    # and with the classifier threshold raised, the rare prototype takes it
    routed = route(clf[:1], proto[:1], common_idx, rare_mask, Thresholds(0.99, 0.5, 0.0))
    assert routed.method[0] == "prototype_rare" and routed.pred[0] == 2


def test_calibration_hits_the_target_coverage_on_validation():
    rng = np.random.default_rng(0)
    n, common_idx, rare_mask = 400, np.arange(6), np.array([False] * 6 + [True] * 4)
    y = rng.integers(0, 10, n)
    clf = rng.dirichlet(np.ones(6) * 0.5, n)
    proto = rng.dirichlet(np.ones(10) * 0.5, n)
    for target in (0.5, 0.7, 0.88):
        thr = calibrate_thresholds(clf, proto, y, common_idx, rare_mask, target)
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
    thr = calibrate_thresholds(clf, proto, y, common_idx, rare_mask, 0.6)
    routed = route(clf, proto, common_idx, rare_mask, thr)
    stats = summarize(routed, y, rare_mask)
    full = summarize(route(clf, proto, common_idx, rare_mask, Thresholds(0, 0, 0)), y, rare_mask)
    assert stats["accuracy"] > full["accuracy"]  # rejecting the unsure raises accuracy
    assert stats["share_rejected"] == pytest.approx(1 - stats["coverage"])
    curve = accuracy_coverage_curve((clf, proto, y), (clf, proto, y), common_idx, rare_mask)
    coverages = [p["coverage"] for p in curve]
    assert coverages == sorted(coverages) and coverages[-1] == 1.0
