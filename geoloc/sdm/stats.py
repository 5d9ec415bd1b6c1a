"""Statistics of the SDM evaluation: the AUC of one species, summaries over species (mean, median
and percentile-bootstrap 95% CIs), and paired differences between covariate sets (same species,
same folds), which are far tighter than comparing two CIs."""

from __future__ import annotations

import numpy as np
from sklearn.metrics import roc_auc_score


def auc(labels: np.ndarray, scores: np.ndarray) -> float:
    """ROC AUC, NaN when only one class is present."""
    labels = np.asarray(labels)
    if labels.min(initial=1) == labels.max(initial=0):
        return float("nan")
    return float(roc_auc_score(labels, scores))


def bootstrap_ci(
    values: np.ndarray, n_boot: int = 2000, seed: int = 0, level: float = 0.95
) -> tuple[float, float]:
    """Percentile bootstrap CI of the mean over the (finite) values; NaN when none."""
    values = np.asarray(values, dtype=np.float64)
    values = values[np.isfinite(values)]
    if len(values) == 0:
        return float("nan"), float("nan")
    rng = np.random.default_rng(seed)
    means = values[rng.integers(0, len(values), size=(n_boot, len(values)))].mean(axis=1)
    alpha = (1 - level) / 2
    low, high = np.quantile(means, [alpha, 1 - alpha])
    return float(low), float(high)


def summarize(values: np.ndarray, n_boot: int = 2000, seed: int = 0) -> dict[str, float]:
    """Mean, median, bootstrap CI of the mean and count of the finite values."""
    values = np.asarray(values, dtype=np.float64)
    finite = values[np.isfinite(values)]
    low, high = bootstrap_ci(finite, n_boot, seed)
    empty = len(finite) == 0
    return {
        "mean": float("nan") if empty else float(finite.mean()),
        "median": float("nan") if empty else float(np.median(finite)),
        "ci_low": low,
        "ci_high": high,
        "n": int(len(finite)),
    }


def paired_difference(
    a: np.ndarray, b: np.ndarray, n_boot: int = 2000, seed: int = 0
) -> dict[str, float]:
    """Mean of a - b over species where both are finite, its CI, and wins/losses/ties of a."""
    a = np.asarray(a, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    both = np.isfinite(a) & np.isfinite(b)
    delta = a[both] - b[both]
    summary = summarize(delta, n_boot, seed)
    return {
        "mean": summary["mean"],
        "ci_low": summary["ci_low"],
        "ci_high": summary["ci_high"],
        "wins": int((delta > 0).sum()),
        "losses": int((delta < 0).sum()),
        "ties": int((delta == 0).sum()),
        "n": summary["n"],
    }
