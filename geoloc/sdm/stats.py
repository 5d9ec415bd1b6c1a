"""Statistics of the SDM evaluation: the AUC of one species or of many at once (`grouped_auc`),
summaries over species (mean, median and percentile-bootstrap 95% CIs), and paired differences
between covariate sets (same species, same folds), which are far tighter than comparing two
CIs."""

from __future__ import annotations

import numpy as np


def auc(labels: np.ndarray, scores: np.ndarray) -> float:
    """ROC AUC, NaN when only one class is present."""
    labels = np.asarray(labels)
    return float(grouped_auc(np.zeros(len(labels), np.int64), labels, scores, 1)[0])


def grouped_auc(
    groups: np.ndarray, labels: np.ndarray, scores: np.ndarray, n_groups: int
) -> np.ndarray:
    """(n_groups,) ROC AUC of every group (species) at once, NaN for a group with one class.

    Mann-Whitney: AUC = (rank sum of the positives - n+(n+ + 1)/2) / (n+ n-), with mid-ranks for
    tied scores (what roc_auc_score's trapezoids give). One sort of all (group, score) pairs
    instead of a call per species: thousands of species cost one O(M log M) pass.
    """
    groups = np.asarray(groups, dtype=np.int64)
    positive = np.asarray(labels) > 0
    scores = np.asarray(scores)
    order = np.lexsort((scores, groups))
    groups, positive, scores = groups[order], positive[order], scores[order]
    n = len(groups)
    starts_run = np.ones(n, dtype=bool)  # a run: equal group and score (a tie)
    starts_run[1:] = (groups[1:] != groups[:-1]) | (scores[1:] != scores[:-1])
    run_start = np.flatnonzero(starts_run)
    run_length = np.diff(np.append(run_start, n))
    mid = np.repeat(run_start + (run_length - 1) / 2, run_length)  # 0-based mid position
    counts = np.bincount(groups, minlength=n_groups)
    group_start = np.cumsum(counts) - counts
    ranks = mid - group_start[groups] + 1
    n_pos = np.bincount(groups, weights=positive, minlength=n_groups)
    n_neg = counts - n_pos
    rank_sum = np.bincount(groups[positive], weights=ranks[positive], minlength=n_groups)
    with np.errstate(invalid="ignore", divide="ignore"):
        area = (rank_sum - n_pos * (n_pos + 1) / 2) / (n_pos * n_neg)
    return np.where((n_pos > 0) & (n_neg > 0), area, np.nan)


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
