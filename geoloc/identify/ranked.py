"""What the metrics need of a class-probability matrix, kept per row: the top class, its
probability and the k best classes.

Prediction runs batch by batch and keeps only these O(N k) summaries, so no (N x S) matrix of
probabilities ever exists, whatever the number of species S.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

TOP_K = 5  # the widest top-k accuracy reported


@dataclass(frozen=True)
class Ranked:
    """Per-row summary of an (N, C) probability matrix."""

    pred: np.ndarray  # (N,) most probable class (0 when there are no classes)
    conf: np.ndarray  # (N,) its probability (-inf when there are no classes)
    top: np.ndarray  # (N, min(k, C)) the k most probable classes, in no particular order
    n_classes: int

    @classmethod
    def of(cls, proba: np.ndarray, k: int = TOP_K) -> Ranked:
        n, n_classes = proba.shape
        if n_classes == 0:
            empty = np.zeros((n, 0), np.int64)
            return cls(np.zeros(n, np.int64), np.full(n, -np.inf, np.float32), empty, 0)
        k = min(k, n_classes)
        top = np.argpartition(-proba, k - 1, axis=1)[:, :k].copy()  # not a view of (N, C)
        return cls(proba.argmax(axis=1), proba.max(axis=1), top, n_classes)

    @classmethod
    def concat(cls, parts: list[Ranked]) -> Ranked:
        return cls(
            np.concatenate([p.pred for p in parts]),
            np.concatenate([p.conf for p in parts]),
            np.concatenate([p.top for p in parts]),
            parts[0].n_classes,
        )

    def top_k_accuracy(self, y: np.ndarray) -> float:
        """Share of rows whose true class is among the kept k most probable."""
        return float((self.top == y[:, None]).any(axis=1).mean())


def ranked_in_batches(
    probas: Callable[[int, int], dict[str, np.ndarray]], n: int, batch_size: int, k: int = TOP_K
) -> dict[str, Ranked]:
    """Summaries of every matrix `probas(start, stop)` returns for rows start..stop, computed
    `batch_size` rows at a time (row-wise, so the result does not depend on the batch size)."""
    parts: dict[str, list[Ranked]] = {}
    for start in range(0, n, batch_size):
        for name, proba in probas(start, min(n, start + batch_size)).items():
            parts.setdefault(name, []).append(Ranked.of(proba, k))
    return {name: Ranked.concat(items) for name, items in parts.items()}
