"""Hybrid routing: the fixed order of the routes and rejection as "?"."""

from __future__ import annotations

import numpy as np

from geoloc.identify.hybrid import METHODS, REJECTED, Thresholds, route


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
