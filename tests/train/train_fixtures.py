"""Synthetic observations for the training tests (imported by name: unique module name)."""

import h5py
import numpy as np


def synthetic_observations(n: int = 400, species: int = 4, dim: int = 16, seed: int = 0):
    """Points over France; each species lives in one quadrant; its images cluster together."""
    rng = np.random.default_rng(seed)
    sp = rng.integers(0, species, n)
    centre_lat = np.where(sp % 2 == 0, 44.0, 49.0)
    centre_lon = np.where(sp // 2 % 2 == 0, -1.0, 5.5)
    lat = centre_lat + rng.normal(0, 1.0, n)
    lon = centre_lon + rng.normal(0, 1.3, n)
    centres = rng.normal(0, 1, (species, dim))
    feat = centres[sp] + 0.3 * rng.normal(0, 1, (n, dim))
    feat /= np.linalg.norm(feat, axis=1, keepdims=True)
    return lat, lon, feat.astype(np.float32), sp.astype(np.int64)


def write_store(path, lat, lon, feat, sp):
    """A minimal embedding HDF5 file, as the embed stage writes it."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with h5py.File(path, "w") as h5:
        h5["gbif_id"] = np.arange(len(lat), dtype=np.int64)
        h5["embedding"] = feat.astype(np.float16)
        h5["lat"], h5["lon"], h5["species_key"] = lat, lon, sp
        h5["failed/gbif_id"] = np.zeros(0, np.int64)
        h5.attrs["backbone"] = "synthetic"


class CountingRows:
    """A row source (geoloc/train/data.py) that records every read of another, to check how
    much is ever read at once."""

    def __init__(self, source):
        self.source, self.reads = source, []
        self.lat, self.lon, self.species_key = source.lat, source.lon, source.species_key
        self.dim, self.dtype = source.dim, source.dtype

    def __len__(self):
        return len(self.source)

    def read(self, start, stop):
        self.reads.append((start, stop))
        return self.source.read(start, stop)

    @property
    def largest_read(self) -> int:
        return max(stop - start for start, stop in self.reads)

    @property
    def rows_read(self) -> int:
        return sum(stop - start for start, stop in self.reads)
