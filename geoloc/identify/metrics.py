"""Classification metrics for identification heads: top-k accuracy, macro-F1, per-class
accuracy, confusion matrix and the most-confused class pairs (the error analysis)."""

from __future__ import annotations

import numpy as np
from sklearn.metrics import confusion_matrix, f1_score


def top_k_accuracy(y: np.ndarray, proba: np.ndarray, k: int) -> float:
    """Share of samples whose true label is among the k highest scores (k capped at #classes)."""
    k = min(k, proba.shape[1])
    top = np.argpartition(-proba, k - 1, axis=1)[:, :k]
    return float((top == y[:, None]).any(axis=1).mean())


def most_confused_pairs(cm: np.ndarray, names: list[str], n: int = 10) -> list[dict]:
    """The off-diagonal cells with most errors: true class, predicted class, count, share."""
    off = cm.copy()
    np.fill_diagonal(off, 0)
    flat = np.argsort(-off, axis=None, kind="stable")[:n]
    pairs = []
    for true_i, pred_i in zip(*np.unravel_index(flat, off.shape), strict=True):
        count = int(off[true_i, pred_i])
        if count == 0:
            break
        pairs.append(
            {
                "true": names[true_i],
                "pred": names[pred_i],
                "count": count,
                "share_of_true": count / int(cm[true_i].sum()),
            }
        )
    return pairs


def classification_report(y: np.ndarray, proba: np.ndarray, names: list[str]) -> dict:
    """Everything the report shows for one classifier on one split."""
    labels = np.arange(len(names))
    pred = proba.argmax(axis=1)
    cm = confusion_matrix(y, pred, labels=labels)
    support = cm.sum(axis=1)
    with np.errstate(invalid="ignore", divide="ignore"):
        per_class = np.where(support > 0, np.diag(cm) / support, np.nan)
    present = np.unique(y)
    return {
        "top1": float((pred == y).mean()),
        "top5": top_k_accuracy(y, proba, 5),
        "macro_f1": float(f1_score(y, pred, labels=present, average="macro", zero_division=0)),
        "balanced_accuracy": float(np.nanmean(per_class)),
        "per_class": [
            {"name": name, "support": int(s), "accuracy": None if np.isnan(a) else float(a)}
            for name, s, a in zip(names, support, per_class, strict=True)
        ],
        "confusion": cm.tolist(),
        "confused_pairs": most_confused_pairs(cm, names),
    }


def minority_recall(report: dict, y_train: np.ndarray, n: int) -> float:
    """Mean test accuracy over the rarer half of the classes (by training count)."""
    counts = np.bincount(y_train, minlength=n)
    present = [i for i, row in enumerate(report["per_class"]) if row["accuracy"] is not None]
    rare = sorted(present, key=lambda i: counts[i])[: max(1, len(present) // 2)]
    return float(np.mean([report["per_class"][i]["accuracy"] for i in rare]))
