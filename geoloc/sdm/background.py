"""Target-group background for presence-only SDMs (Phillips et al. 2009, Ecol. Appl. 19:181).

The background of a species is drawn from the observations of the *other* species of the same
taxon group, so it carries the same observer bias as the presences (near cities, roads, trails)
and the model learns habitat rather than where people look.

All species draw from one seeded permutation of the observations: the background of species s is
the first `size` records of that permutation that are not of species s. Each background has
exactly `size` points (or all other records when fewer exist), and together they use only a short
prefix of the permutation, so a batched learner can fit every species on one shared design matrix.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Background:
    """Shared background rows and which species each row is background for."""

    index: np.ndarray  # (B,) int64 rows of the observation table, in permutation order
    mask: np.ndarray  # (B, S) bool: row b is in the background of species s


def target_group_background(
    species_key: np.ndarray, species: np.ndarray, size: int, seed: int = 0
) -> Background:
    """Backgrounds for each key in `species` from the observations' `species_key` column."""
    if size <= 0:
        raise ValueError(f"background size must be positive, not {size}")
    species_key = np.asarray(species_key)
    species = np.asarray(species)
    perm = np.random.default_rng(seed).permutation(len(species_key))
    keys = species_key[perm[: _prefix_length(species_key[perm], size)]]
    other = keys[:, None] != species[None, :]  # (L, S)
    mask = other & (np.cumsum(other, axis=0, dtype=np.int32) <= size)
    used = mask.any(axis=1)
    last = int(np.flatnonzero(used).max()) + 1 if used.any() else 0
    return Background(index=perm[:last].astype(np.int64), mask=mask[:last])


def _prefix_length(keys: np.ndarray, size: int) -> int:
    """A prefix of `keys` long enough to hold `size` records of other species for any species."""
    length = min(size, len(keys))
    while True:
        _, counts = np.unique(keys[:length], return_counts=True)
        needed = min(size + int(counts.max(initial=0)), len(keys))
        if needed <= length:
            return length
        length = needed
