"""A tiny virtual-species world for SDM tests: Gaussian niches over France, a truth grid."""

from __future__ import annotations

import numpy as np
import pandas as pd


def virtual_world(n_species=4, per_species=90, seed=0, rare=True):
    """Observations and truth; `per_species` is one count for all species or one per species."""
    counts = np.broadcast_to(per_species, n_species)
    rng = np.random.default_rng(seed)
    glat, glon = np.meshgrid(np.arange(42.5, 51, 0.5), np.arange(-4, 8, 0.5), indexing="ij")
    glat, glon = glat.ravel(), glon.ravel()
    centres = rng.uniform([43.5, -2.5], [49.5, 6.5], size=(n_species, 2))
    suit = np.exp(
        -((glat[:, None] - centres[:, 0]) ** 2 + (glon[:, None] - centres[:, 1]) ** 2) / 5
    )
    keys = 1000 + np.arange(n_species)
    truth = pd.DataFrame(
        {
            "dataset": "plants",
            "species_key": np.repeat(keys, len(glat)),
            "species": np.repeat([f"Species {k}" for k in keys], len(glat)),
            "lat": np.tile(glat, n_species),
            "lon": np.tile(glon, n_species),
            "suitability": suit.T.ravel().astype(np.float32),
            "present": suit.T.ravel() > 0.4,
        }
    )
    parts = []
    for s, (key, n) in enumerate(zip(keys, counts, strict=True)):
        cells = rng.choice(len(glat), size=n, p=suit[:, s] / suit[:, s].sum())
        parts.append(
            pd.DataFrame(
                {
                    "lat": glat[cells] + rng.uniform(-0.25, 0.25, n),
                    "lon": glon[cells] + rng.uniform(-0.25, 0.25, n),
                    "species_key": key,
                    "species": f"Species {key}",
                }
            )
        )
    if rare:
        parts.append(
            pd.DataFrame({"lat": [45.0] * 3, "lon": [2.0] * 3, "species_key": 7, "species": "Rara"})
        )
    return pd.concat(parts, ignore_index=True), truth


def noise_features(lat, lon):
    return np.random.default_rng(1).normal(size=(len(lat), 3)).astype(np.float32)


def demo_like_world():
    """Like one demo dataset: 12 species of uneven abundance, two of them too rare to model."""
    counts = [200, 120, 90, 70, 55, 45, 38, 30, 24, 18, 6, 4]
    return virtual_world(n_species=12, per_species=counts, seed=3, rare=False)


def waves_features(lat, lon):
    """16 sines and cosines of lat and lon: a smooth basis of medium width."""
    k = np.arange(1, 5)
    a = np.radians(lat)[:, None] * k * 8
    b = np.radians(lon)[:, None] * k * 6
    return np.column_stack([np.sin(a), np.cos(a), np.sin(b), np.cos(b)]).astype(np.float32)


def wide_features(lat, lon):
    """264 random Fourier features: wider than the logistic's dense Newton limit (CG path)."""
    z = np.column_stack([lat, lon]) @ np.random.default_rng(5).normal(0, 0.6, (2, 132))
    return np.column_stack([np.sin(z), np.cos(z)]).astype(np.float32)
