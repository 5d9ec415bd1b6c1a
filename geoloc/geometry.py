"""Geometry on the Earth: one radius, one great-circle distance, one nearest-neighbour search, one
kind of spatial block.

Spatial blocks keep nearby points in the same fold or split, so a model is never scored on points
a few metres from its training data (Roberts et al. 2017, Ecography 40:913). They are squares of
`block_km` on the sinusoidal equal-area projection (x = R lon cos lat, y = R lat), which keeps
true distances along parallels and meridians at the scale of a country. SDM cross-validation
(`spatial_folds`) and the encoder's train/validation split (`spatial_block_split`) use the same
blocks.
"""

from __future__ import annotations

import numpy as np

from geoloc.errors import GeolocError

EARTH_RADIUS_KM = 6371.0088  # mean radius (IUGG)
KM_PER_DEGREE = EARTH_RADIUS_KM * np.pi / 180.0  # along a meridian


def great_circle_km(lat1, lon1, lat2, lon2):
    """Haversine distance in km between degree coordinates (NumPy arrays or torch tensors,
    broadcasting); the result has the inputs' array type."""
    xp = _namespace(lat1)
    p1, p2 = xp.deg2rad(lat1), xp.deg2rad(lat2)
    dlat, dlon = p2 - p1, xp.deg2rad(lon2 - lon1)
    h = xp.sin(dlat / 2) ** 2 + xp.cos(p1) * xp.cos(p2) * xp.sin(dlon / 2) ** 2
    return 2 * EARTH_RADIUS_KM * xp.arcsin(xp.sqrt(xp.clip(h, 0, 1)))


def _namespace(x):
    """`torch` for tensors (whose functions mirror NumPy's names used here), else NumPy."""
    if type(x).__module__.startswith("torch"):
        import torch

        return torch
    return np


def unit_vectors(lat, lon):
    """(N, 3) Earth-centred unit vectors of degree coordinates (NumPy arrays or torch tensors):
    their chord distance orders neighbours as the great-circle distance does, with no seam at the
    antimeridian and no distortion far from a projection's centre."""
    xp = _namespace(lat)
    lat, lon = xp.deg2rad(lat), xp.deg2rad(lon)
    return xp.stack([xp.cos(lat) * xp.cos(lon), xp.cos(lat) * xp.sin(lon), xp.sin(lat)], 1)


def nearest_neighbours(
    lat: np.ndarray, lon: np.ndarray, ref_lat: np.ndarray, ref_lon: np.ndarray, k: int
) -> np.ndarray:
    """(N, k) indices of the k reference points nearest to each point, nearest first."""
    from scipy.spatial import cKDTree

    if not 1 <= k <= len(ref_lat):
        raise GeolocError(f"cannot take {k} nearest of {len(ref_lat)} reference points")
    tree = cKDTree(unit_vectors(np.asarray(ref_lat, np.float64), np.asarray(ref_lon, np.float64)))
    _, index = tree.query(unit_vectors(np.asarray(lat, np.float64), np.asarray(lon, np.float64)), k)
    return index.reshape(len(lat), k)


def sinusoidal_km(lat: np.ndarray, lon: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(x, y) in km on the sinusoidal equal-area projection, the plane the blocks are cut in."""
    lat = np.radians(np.asarray(lat, dtype=np.float64))
    lon = np.radians(np.asarray(lon, dtype=np.float64))
    x = EARTH_RADIUS_KM * lon * np.cos(lat)
    y = EARTH_RADIUS_KM * lat
    return x, y


def block_ids(lat: np.ndarray, lon: np.ndarray, block_km: float) -> np.ndarray:
    """One int64 block id per point (lat, lon in degrees); equal ids = same block."""
    if block_km <= 0:
        raise ValueError(f"block_km must be positive, not {block_km}")
    x, y = sinusoidal_km(lat, lon)
    row = np.floor(y / block_km).astype(np.int64)
    col = np.floor(x / block_km).astype(np.int64)
    # Pack (row, col) into one id; |row|, |col| < 2**20 for any block_km >= 0.05 km.
    return (row + 2**20) * 2**21 + (col + 2**20)


def assign_folds(blocks: np.ndarray, folds: int, seed: int = 0) -> np.ndarray:
    """Fold index (0..folds-1) per point; every block lies wholly in one fold.

    Blocks are visited largest first (ties in a seeded random order) and each goes to the fold
    with the fewest points so far, which balances fold sizes even when a few blocks (cities) hold
    most of the points.
    """
    if folds < 2:
        raise ValueError(f"folds must be >= 2, not {folds}")
    unique, inverse, counts = np.unique(blocks, return_inverse=True, return_counts=True)
    order = np.random.default_rng(seed).permutation(len(unique))
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
    """Fold index per point from blocks of `block_km` (see the module docstring)."""
    return assign_folds(block_ids(lat, lon, block_km), folds, seed)


def spatial_block_split(
    lat: np.ndarray, lon: np.ndarray, val_fraction: float, block_km: float, seed: int
) -> np.ndarray:
    """Boolean mask, True for validation: whole blocks in a seeded order until `val_fraction`
    of the points is reached (at least one block on each side)."""
    ids = block_ids(lat, lon, block_km)
    blocks, counts = np.unique(ids, return_counts=True)
    if len(blocks) < 2:
        raise GeolocError(
            f"cannot split {len(ids)} points into train/validation: they all fall in one "
            f"{block_km:g} km block; lower train.val_block_km"
        )
    order = np.random.default_rng(seed).permutation(len(blocks))
    cumulative = np.cumsum(counts[order])
    n_val_blocks = int(np.searchsorted(cumulative, val_fraction * len(ids))) + 1
    n_val_blocks = min(n_val_blocks, len(blocks) - 1)
    return np.isin(ids, blocks[order[:n_val_blocks]])
