"""Synthetic identification data for the tests: gaussian clusters per species with imbalanced
counts, families grouping species, locations clustered per species inside France."""

from __future__ import annotations

import numpy as np
import pandas as pd

from geoloc.embed.store import EmbeddingTable, TextEmbeddings

COUNTS = (220, 180, 150, 120, 40, 25, 15, 12)  # 4 common, 4 rare (<= 50)
FAMILIES = (
    "Rosaceae",
    "Rosaceae",
    "Fabaceae",
    "Poaceae",
    "Poaceae",
    "Fabaceae",
    "Rosaceae",
    "Asteraceae",
)


def make_dataset(dim: int = 32, noise: float = 0.9, seed: int = 0, text: bool = False):
    """(EmbeddingTable, taxonomy DataFrame) for len(COUNTS) species."""
    rng = np.random.default_rng(seed)
    centres = rng.normal(size=(len(COUNTS), dim))
    places = np.column_stack(
        [rng.uniform(43.5, 49.5, len(COUNTS)), rng.uniform(-1, 6.5, len(COUNTS))]
    )
    species = np.repeat(np.arange(len(COUNTS)), COUNTS)
    emb = centres[species] + noise * rng.normal(size=(len(species), dim)) * np.sqrt(dim) / 4
    emb /= np.linalg.norm(emb, axis=1, keepdims=True)
    lat = places[species, 0] + rng.normal(0, 0.6, len(species))
    lon = places[species, 1] + rng.normal(0, 0.6, len(species))
    keys = 1000 + species
    gbif = np.arange(len(species), dtype=np.int64) + 5_000_000
    names = [f"Genus species{i}" for i in range(len(COUNTS))]
    text_emb = None
    if text:
        t = centres + 0.3 * rng.normal(size=centres.shape)
        text_emb = TextEmbeddings(
            species_key=1000 + np.arange(len(COUNTS)),
            species=np.array(names),
            embedding=(t / np.linalg.norm(t, axis=1, keepdims=True)).astype(np.float32),
        )
    table = EmbeddingTable(
        gbif_id=gbif,
        embedding=emb.astype(np.float32),
        lat=lat,
        lon=lon,
        species_key=keys.astype(np.int64),
        attrs={"backbone": "fake", "image_size": 32, "dim": dim},
        text=text_emb,
    )
    taxonomy = pd.DataFrame(
        {
            "gbif_id": gbif,
            "species_key": keys.astype(np.int64),
            "species": [names[s] for s in species],
            "family": [FAMILIES[s] for s in species],
            "lat": lat,
            "lon": lon,
        }
    )
    return table, taxonomy


class FourierEncoder:
    """A fixed random-Fourier-feature stand-in for a location encoder (`.encode(lat, lon)`)."""

    def __init__(self, dim: int = 64, scale: float = 1.0, seed: int = 0):
        rng = np.random.default_rng(seed)
        self.w = rng.normal(0, scale, size=(2, dim // 2))

    def encode(self, lat, lon, batch_size: int = 65536):
        z = np.column_stack([lat, lon]) @ self.w
        return np.concatenate([np.sin(z), np.cos(z)], axis=1).astype(np.float32)
