"""Minibatches of embedding rows for the identification heads.

The embeddings stay as stored (float16, 1 GB for 10^6 x 512) and only the rows of one batch are
converted to float32, so training never holds an (N, D) float32 copy. float16 -> float32 is exact,
so the batches equal those of a float32 copy of the whole table.
"""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import torch


def float_rows(X: np.ndarray, rows: np.ndarray) -> np.ndarray:
    """Rows `rows` of `X` as a float32 array."""
    return np.asarray(X[rows], dtype=np.float32)


def shuffled_batches(
    X: np.ndarray, rows: np.ndarray, batch_size: int, generator: torch.Generator, device="cpu"
) -> Iterator[tuple[torch.Tensor, torch.Tensor]]:
    """One epoch over `rows` of `X` in a seeded random order: (positions in `rows` on `device`,
    their float32 features on `device`) per batch."""
    order = torch.randperm(len(rows), generator=generator)
    for start in range(0, len(order), batch_size):
        batch = order[start : start + batch_size]
        features = torch.from_numpy(float_rows(X, rows[batch.numpy()]))
        yield batch.to(device), features.to(device)
