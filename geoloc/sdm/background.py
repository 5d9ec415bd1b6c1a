"""Target-group background for presence-only SDMs (Phillips et al. 2009, Ecol. Appl. 19:181).

The background of a species is drawn from the observations of the *other* species of the same
taxon group, so it carries the same observer bias as the presences (near cities, roads, trails)
and the model learns habitat rather than where people look.

All species draw from one seeded permutation of the observations: the background of species s is
the first `size` records of that permutation that are not of species s. Each background has
exactly `size` points (or all other records when fewer exist), and together they use only a short
prefix of the permutation, so a batched learner can fit many species on one shared design matrix.
The backgrounds are stored as that prefix and one end per species (O(prefix + species) memory,
never a rows x species mask); `members` gives the mask for a block of species when it is fitted.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Background:
    """The shared prefix of the permutation and where each species' background ends in it."""

    index: np.ndarray  # (L,) int64 rows of the observation table, in permutation order
    keys: np.ndarray  # (L,) species key of each of those rows
    species: np.ndarray  # (S,) the species served
    end: np.ndarray  # (S,) species s draws from index[:end[s]], skipping its own records

    def members(self, columns: slice = slice(None)) -> np.ndarray:
        """(L, k) bool for the species `columns`: row l is in the background of that species."""
        species, end = self.species[columns], self.end[columns]
        position = np.arange(len(self.index))[:, None]
        return (position < end[None, :]) & (self.keys[:, None] != species[None, :])

    def rows(self, s: int) -> np.ndarray:
        """The background rows (observation table) of species number `s`."""
        return self.index[self.members(slice(s, s + 1))[:, 0]]


def target_group_background(
    species_key: np.ndarray, species: np.ndarray, size: int, seed: int = 0
) -> Background:
    """Backgrounds for each key in `species` from the observations' `species_key` column."""
    if size <= 0:
        raise ValueError(f"background size must be positive, not {size}")
    species_key = np.asarray(species_key)
    species = np.asarray(species)
    perm = np.random.default_rng(seed).permutation(len(species_key))
    length = _prefix_length(species_key[perm], size)
    keys = species_key[perm[:length]]
    end = _ends(keys, species, size)
    last = _last_used(keys, species, end)
    return Background(perm[:last].astype(np.int64), keys[:last], species, np.minimum(end, last))


def _ends(keys: np.ndarray, species: np.ndarray, size: int) -> np.ndarray:
    """(S,) length of the prefix of `keys` that holds `size` records of other species than s
    (all of `keys` when fewer): `size` plus the records of s met before the size-th other."""
    code = _codes(keys, species)
    at = np.flatnonzero(code >= 0)
    order = np.argsort(code[at], kind="stable")  # records grouped by species, in prefix order
    owner, position = code[at][order], at[order]
    counts = np.bincount(owner, minlength=len(species))
    rank = np.arange(len(owner)) - (np.cumsum(counts) - counts)[owner]
    others_before = position - rank
    inside = np.bincount(owner[others_before < size], minlength=len(species))
    return np.minimum(size + inside, len(keys)).astype(np.int64)


def _last_used(keys: np.ndarray, species: np.ndarray, end: np.ndarray) -> int:
    """1 + the last prefix position in any species' background (the rest serves nobody)."""
    ends = np.sort(end)
    position = np.arange(len(keys))
    serving = len(ends) - np.searchsorted(ends, position, side="right")  # species with end > l
    code = _codes(keys, species)
    own_only = (serving == 1) & (code >= 0) & (end[np.maximum(code, 0)] > position)
    used = np.flatnonzero((serving > 0) & ~own_only)
    return int(used[-1]) + 1 if len(used) else 0


def _codes(keys: np.ndarray, species: np.ndarray) -> np.ndarray:
    """Position of each key in `species`, -1 for keys of other species."""
    if len(species) == 0:
        return np.full(len(keys), -1, dtype=np.int64)
    order = np.argsort(species, kind="stable")
    at = np.minimum(np.searchsorted(species[order], keys), len(species) - 1)
    return np.where(species[order][at] == keys, order[at], -1)


def _prefix_length(keys: np.ndarray, size: int) -> int:
    """A prefix of `keys` long enough to hold `size` records of other species for any species."""
    length = min(size, len(keys))
    while True:
        _, counts = np.unique(keys[:length], return_counts=True)
        needed = min(size + int(counts.max(initial=0)), len(keys))
        if needed <= length:
            return length
        length = needed
