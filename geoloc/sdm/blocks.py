"""Spatial blocks for cross-validation: nearby points share a fold, so a model is never scored on
points a few metres from its training data (Roberts et al. 2017, Ecography 40:913).

Blocks are squares of `block_km` on the sinusoidal equal-area projection (x = R lon cos lat,
y = R lat), which keeps true distances along parallels and meridians at the scale of a country.
"""

from __future__ import annotations

import numpy as np

EARTH_RADIUS_KM = 6371.0088


def block_ids(lat: np.ndarray, lon: np.ndarray, block_km: float) -> np.ndarray:
    """One int64 block id per point (lat, lon in degrees); equal ids = same block."""
    if block_km <= 0:
        raise ValueError(f"block_km must be positive, not {block_km}")
    lat = np.asarray(lat, dtype=np.float64)
    lon = np.asarray(lon, dtype=np.float64)
    y = EARTH_RADIUS_KM * np.radians(lat)
    x = EARTH_RADIUS_KM * np.radians(lon) * np.cos(np.radians(lat))
    row = np.floor(y / block_km).astype(np.int64)
    col = np.floor(x / block_km).astype(np.int64)
    # Pack (row, col) into one id; |row|, |col| < 2**20 for any block_km >= 0.05 km.
    return (row + 2**20) * 2**21 + (col + 2**20)


def assign_folds(blocks: np.ndarray, folds: int, seed: int = 0) -> np.ndarray:
    """Fold index (0..folds-1) per point; every block lies wholly in one fold.

    Blocks are visited in a seeded random order and each goes to the fold with the fewest points so
    far, which balances fold sizes even when a few blocks (cities) hold most of the points.
    """
    if folds < 2:
        raise ValueError(f"folds must be >= 2, not {folds}")
    unique, inverse, counts = np.unique(blocks, return_inverse=True, return_counts=True)
    order = np.random.default_rng(seed).permutation(len(unique))
    # Largest blocks first (ties in seeded random order): greedy balancing works best that way.
    order = order[np.argsort(-counts[order], kind="stable")]
    load = np.zeros(folds, dtype=np.int64)
    fold_of_block = np.empty(len(unique), dtype=np.int64)
    for block in order:
        fold = int(np.argmin(load))
        fold_of_block[block] = fold
        load[fold] += counts[block]
    return fold_of_block[inverse]


def spatial_folds(
    lat: np.ndarray, lon: np.ndarray, block_km: float, folds: int, seed: int = 0
) -> np.ndarray:
    """Fold index per point from blocks of `block_km` (see module docstring)."""
    return assign_folds(block_ids(lat, lon, block_km), folds, seed)
