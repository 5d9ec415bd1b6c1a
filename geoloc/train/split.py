"""Spatial block split: validation points come from whole blocks, so nearby duplicates of a
training point cannot leak into validation (Roberts et al. 2017, block cross-validation)."""

from __future__ import annotations

import numpy as np

from geoloc.errors import GeolocError

KM_PER_DEGREE = 111.195


def block_ids(lat: np.ndarray, lon: np.ndarray, block_km: float) -> np.ndarray:
    """An id per point for roughly block_km x block_km cells (longitude step widened by 1/cos)."""
    row = np.floor(np.asarray(lat) * KM_PER_DEGREE / block_km)
    centre = np.deg2rad((row + 0.5) * block_km / KM_PER_DEGREE).clip(-np.pi / 2, np.pi / 2)
    width_deg = block_km / (KM_PER_DEGREE * np.maximum(np.cos(centre), 1e-6))
    col = np.floor((np.asarray(lon) + 180.0) / width_deg)
    return (row.astype(np.int64) + 100_000) * 10_000_000 + col.astype(np.int64)


def spatial_block_split(
    lat: np.ndarray, lon: np.ndarray, val_fraction: float, block_km: float, seed: int
) -> np.ndarray:
    """Boolean mask, True for validation: shuffled whole blocks until `val_fraction` is reached."""
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
