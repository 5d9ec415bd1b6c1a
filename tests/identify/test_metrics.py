"""Classification metrics from (true, predicted) pairs: top-k accuracy, macro-F1 as scikit-learn
computes it, per-class accuracy, the most-confused pairs, the bounded confusion."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.metrics import confusion_matrix, f1_score

from geoloc.identify.metrics import (
    classification_report,
    confused_pairs,
    macro_f1,
    minority_recall,
    per_class_table,
)
from geoloc.identify.ranked import Ranked


def test_metrics_topk_and_confused_pairs():
    y = np.array([0, 0, 1, 1, 2, 2])
    proba = np.array([[0.9, 0.1, 0], [0.2, 0.7, 0.1], [0.1, 0.8, 0.1]] * 2)
    assert Ranked.of(proba, k=1).top_k_accuracy(y) == pytest.approx(1 / 3)
    assert Ranked.of(proba, k=2).top_k_accuracy(y) == pytest.approx(4 / 6)
    report = classification_report(y, Ranked.of(proba), ["a", "b", "c"])
    assert report["top5"] == 1.0  # k is capped at the number of classes
    assert report["confused_pairs"][0] == {
        "true": "c",
        "pred": "b",
        "count": 2,
        "share_of_true": 1.0,
    }
    assert [r["accuracy"] for r in report["per_class"]] == [0.5, 0.5, 0.0]
    assert report["confusion"] == [[1, 1, 0], [1, 1, 0], [0, 2, 0]]
    assert confused_pairs(y, y, ["a", "b", "c"]) == []


def test_pair_counts_equal_the_dense_confusion_matrix():
    rng = np.random.default_rng(0)
    n_classes = 30
    y = rng.integers(0, n_classes, 2000)
    y[y == 7] = 8  # a class absent from y but predicted
    pred = np.where(rng.random(2000) < 0.6, y, rng.integers(0, n_classes, 2000))
    names = [f"c{i}" for i in range(n_classes)]
    expected = f1_score(y, pred, labels=np.unique(y), average="macro", zero_division=0)
    assert macro_f1(y, pred, n_classes) == expected
    cm = confusion_matrix(y, pred, labels=np.arange(n_classes))
    off = cm.copy()
    np.fill_diagonal(off, 0)
    flat = np.argsort(-off, axis=None, kind="stable")[:10]
    dense_pairs = [(names[t], names[p], int(off[t, p])) for t, p in zip(*np.unravel_index(flat, off.shape), strict=True)]  # fmt: skip
    assert [
        (p["true"], p["pred"], p["count"]) for p in confused_pairs(y, pred, names)
    ] == dense_pairs
    table = per_class_table(y, pred, names)
    np.testing.assert_array_equal(table["support"], cm.sum(axis=1))
    with np.errstate(invalid="ignore"):
        np.testing.assert_array_equal(table["accuracy"], np.diag(cm) / cm.sum(axis=1))


def test_report_shows_only_the_best_supported_classes():
    n_classes = 300
    y = np.repeat(np.arange(n_classes), np.arange(n_classes) % 7 + 1)
    pred = (y + (y % 3 == 0)) % n_classes
    report = classification_report(
        y, Ranked.of(np.eye(n_classes)[pred]), [str(i) for i in range(n_classes)]
    )
    shown = [int(row["name"]) for row in report["per_class"]]
    assert len(shown) == 50 == len(report["confusion"]) == len(report["confusion"][0])
    sevens, sixes = (
        np.flatnonzero(np.arange(n_classes) % 7 == 6),
        np.flatnonzero(np.arange(n_classes) % 7 == 5),
    )
    assert shown == sorted([*sevens, *sixes[: 50 - len(sevens)]])  # most samples; ties: lower index
    assert len(report["confused_pairs"]) == 10
    # headline numbers still count every class
    assert report["top1"] == pytest.approx((pred == y).mean())


def test_minority_recall_averages_the_rarer_half():
    y_train = np.repeat([0, 1, 2, 3], [100, 50, 5, 2])
    y = np.array([0, 0, 1, 1, 2, 2, 3, 3])
    pred = np.array([0, 0, 1, 1, 2, 0, 0, 0])
    assert minority_recall(y, pred, y_train, 4) == pytest.approx((0.5 + 0.0) / 2)
