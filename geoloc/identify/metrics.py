"""Classification metrics for identification heads: top-k accuracy, macro-F1, per-class
accuracy, a confusion matrix and the most-confused class pairs (the error analysis).

Everything is counted from (true, predicted) label pairs, never from a dense (C x C) confusion
matrix: the errors are counted per pair that occurs, and the confusion shown in the report is
limited to the `SHOWN_CLASSES` classes with most test samples, so report.json stays bounded with
thousands of species (every class is in per_class.csv).
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from geoloc.identify.ranked import Ranked

SHOWN_CLASSES = 50  # classes in report.json's per-class list and confusion (a readable heatmap)
CONFUSED_PAIRS = 10


def class_accuracy(y: np.ndarray, pred: np.ndarray, n: int) -> tuple[np.ndarray, np.ndarray]:
    """(support, accuracy) per class; accuracy is NaN where a class has no sample."""
    support = np.bincount(y, minlength=n)
    correct = np.bincount(y[pred == y], minlength=n)
    with np.errstate(invalid="ignore", divide="ignore"):
        return support, np.where(support > 0, correct / support, np.nan)


def macro_f1(y: np.ndarray, pred: np.ndarray, n: int) -> float:
    """Mean F1 = 2 tp / (support + predicted) over the classes present in `y` (0 where both are
    0), as scikit-learn's f1_score(labels=present, average="macro", zero_division=0)."""
    present = np.unique(y)
    tp = np.bincount(y[pred == y], minlength=n)[present]
    denom = np.bincount(y, minlength=n)[present] + np.bincount(pred, minlength=n)[present]
    return float(np.mean(np.where(denom > 0, 2 * tp / np.maximum(denom, 1), 0.0)))


def confused_pairs(y, pred, names: list[str], n: int = CONFUSED_PAIRS) -> list[dict]:
    """The (true, predicted) pairs with most errors: true class, predicted class, count, share
    of the true class's samples. Ties go to the lower (true, predicted) index."""
    wrong = pred != y
    codes, counts = np.unique(y[wrong] * len(names) + pred[wrong], return_counts=True)
    support = np.bincount(y, minlength=len(names))
    pairs = []
    for i in np.argsort(-counts, kind="stable")[:n]:
        true_i, pred_i = divmod(int(codes[i]), len(names))
        count = int(counts[i])
        pairs.append(
            {
                "true": names[true_i],
                "pred": names[pred_i],
                "count": count,
                "share_of_true": count / int(support[true_i]),
            }
        )
    return pairs


def shown_classes(support: np.ndarray, limit: int = SHOWN_CLASSES) -> np.ndarray:
    """Indices (ascending) of the `limit` classes with most samples (ties: lower index)."""
    if len(support) <= limit:
        return np.arange(len(support))
    return np.sort(np.argsort(-support, kind="stable")[:limit])


def confusion_among(y: np.ndarray, pred: np.ndarray, classes: np.ndarray, n: int) -> np.ndarray:
    """(k, k) counts of (true, predicted) between the `classes` only."""
    position = np.full(n, -1)
    position[classes] = np.arange(len(classes))
    keep = (position[y] >= 0) & (position[pred] >= 0)
    flat = position[y[keep]] * len(classes) + position[pred[keep]]
    return np.bincount(flat, minlength=len(classes) ** 2).reshape(len(classes), len(classes))


def classification_report(y: np.ndarray, ranked: Ranked, names: list[str]) -> dict:
    """What the report shows for one classifier on one split (bounded in the class count)."""
    n = len(names)
    support, accuracy = class_accuracy(y, ranked.pred, n)
    shown = shown_classes(support)
    return {
        "top1": float((ranked.pred == y).mean()),
        "top5": ranked.top_k_accuracy(y),
        "macro_f1": macro_f1(y, ranked.pred, n),
        "balanced_accuracy": float(np.nanmean(accuracy)),
        "per_class": [
            {
                "name": names[i],
                "support": int(support[i]),
                "accuracy": None if np.isnan(accuracy[i]) else float(accuracy[i]),
            }
            for i in shown
        ],
        "confusion": confusion_among(y, ranked.pred, shown, n).tolist(),
        "confused_pairs": confused_pairs(y, ranked.pred, names),
    }


def per_class_table(y: np.ndarray, pred: np.ndarray, names: list[str]) -> pd.DataFrame:
    """Every class's name, test support and accuracy (per_class.csv)."""
    support, accuracy = class_accuracy(y, pred, len(names))
    return pd.DataFrame({"name": names, "support": support, "accuracy": accuracy})


def minority_recall(y: np.ndarray, pred: np.ndarray, y_train: np.ndarray, n: int) -> float:
    """Mean test accuracy over the rarer half of the classes (by training count)."""
    counts = np.bincount(y_train, minlength=n)
    accuracy = class_accuracy(y, pred, n)[1]
    present = np.flatnonzero(~np.isnan(accuracy))
    rare = present[np.argsort(counts[present], kind="stable")][: max(1, len(present) // 2)]
    return float(np.mean(accuracy[rare]))
