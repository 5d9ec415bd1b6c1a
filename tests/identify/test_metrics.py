"""Classification metrics: top-k accuracy, per-class accuracy, most-confused pairs."""

from __future__ import annotations

import numpy as np
import pytest

from geoloc.identify.metrics import classification_report, most_confused_pairs, top_k_accuracy


def test_metrics_topk_and_confused_pairs():
    y = np.array([0, 0, 1, 1, 2, 2])
    proba = np.array([[0.9, 0.1, 0], [0.2, 0.7, 0.1], [0.1, 0.8, 0.1]] * 2)
    assert top_k_accuracy(y, proba, 1) == pytest.approx(1 / 3)
    assert top_k_accuracy(y, proba, 2) == pytest.approx(4 / 6)
    report = classification_report(y, proba, ["a", "b", "c"])
    assert report["confused_pairs"][0] == {
        "true": "c",
        "pred": "b",
        "count": 2,
        "share_of_true": 1.0,
    }
    assert [r["accuracy"] for r in report["per_class"]] == [0.5, 0.5, 0.0]
    assert most_confused_pairs(np.eye(3, dtype=int), ["a", "b", "c"]) == []
