"""Clustering metrics on a known partition and the refinement loop on blobs."""

import numpy as np
import pytest

from geoloc.discovery import cluster
from geoloc.params import ClusterParams


def test_metrics_on_a_known_partition():
    truth = np.array([0, 0, 0, 1, 1, 1, 2, 2])
    pred = np.array([5, 5, 5, 7, 7, 7, -1, -1])  # perfect on clustered points, 2 of 8 left out
    m = cluster.cluster_metrics(pred, truth)
    assert m["ari"] == pytest.approx(1) and m["nmi"] == pytest.approx(1)
    assert m["purity"] == 1 and m["unclustered"] == pytest.approx(0.25) and m["n_clusters"] == 2

    merged = np.array([0, 0, 0, 0, 0, 0, 1, 1])  # classes 0 and 1 merged
    m = cluster.cluster_metrics(merged, truth)
    assert m["purity"] == pytest.approx((3 + 2) / 8)
    assert m["ari"] < 1 and m["unclustered"] == 0
    assert set(cluster.cluster_metrics(merged)) == {"n_clusters", "unclustered"}


def test_refinement_recovers_blobs_and_reports_each_round():
    rng = np.random.default_rng(0)
    truth = np.repeat(np.arange(4), 40)
    x = 4 * rng.normal(size=(4, 24))[truth] + rng.normal(size=(160, 24))
    p = ClusterParams(reduce_dim=8, rounds=2, epochs=30)
    pred, history = cluster.refine_clusters(x, truth, p)
    assert [h["round"] for h in history] == [0, 1, 2]
    assert len(pred) == 160
    for h in history:
        assert h["ari"] > 0.9 and h["unclustered"] < 0.2 and h["n_clusters"] == 4


def test_unknown_reduction_is_a_user_error():
    from geoloc.errors import GeolocError

    with pytest.raises(GeolocError):
        cluster.reduce(np.zeros((5, 3)), "tsne", 2)
