"""Covariate sets for the SDMs: the vectors each point is described by, chosen by name.

- `trained`: the encoder of the `train` stage (`models/encoder.pt`).
- `random`: the same architecture with seeded random weights (what training adds over nothing).
- `geoclip`: the pretrained GeoCLIP location encoder (Vivanco Cepeda et al. 2023).
- `sh`, `rff`, `wrap`: untrained positional encodings with the options of params `model:`.
- `coords`: lat, lon, their squares and product (a quadratic trend surface).

`CovariateCache` computes a set once for all points of a stage (observations and grid together)
and hands out rows, so every fold and learner reuses the same matrix.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np

from geoloc.errors import GeolocError

COVARIATE_SETS = ("trained", "geoclip", "sh", "rff", "wrap", "coords", "random")


def coords_features(lat: np.ndarray, lon: np.ndarray) -> np.ndarray:
    """(N, 5): lat, lon, lat^2, lon^2, lat*lon."""
    lat = np.asarray(lat, dtype=np.float64)
    lon = np.asarray(lon, dtype=np.float64)
    return np.column_stack([lat, lon, lat**2, lon**2, lat * lon]).astype(np.float32)


def _positional(name: str, model_params, seed: int) -> Callable:
    def compute(lat, lon):
        import torch

        from geoloc.encoders.positional import build_encoding, encoding_options

        encoding = build_encoding(name, **encoding_options(name, model_params, seed=seed))
        with torch.no_grad():
            out = encoding(
                torch.as_tensor(np.asarray(lat, np.float32)),
                torch.as_tensor(np.asarray(lon, np.float32)),
            )
        return out.float().numpy()

    return compute


def covariate_function(
    name: str, *, encoder_path: str | Path | None, model_params, seed: int = 0, device="cpu"
) -> Callable[[np.ndarray, np.ndarray], np.ndarray]:
    """`f(lat, lon) -> (N, D) float32` for covariate set `name`."""
    if name == "coords":
        return coords_features
    if name in ("sh", "rff", "wrap"):
        return _positional(name, model_params, seed)
    if name == "geoclip":
        from geoloc.encoders.geoclip import geoclip_features

        return geoclip_features
    if name in ("trained", "random"):

        def encode(lat, lon):
            from geoloc.encoders.location_encoder import (
                build_location_encoder,
                load_location_encoder,
            )

            if name == "trained":
                if encoder_path is None:
                    raise GeolocError("covariate set 'trained' needs an encoder file")
                encoder = load_location_encoder(encoder_path, map_location=device)
            else:
                encoder = build_location_encoder(model_params, seed=seed).to(device)
            return encoder.encode(lat, lon)

        return encode
    raise GeolocError(f"unknown covariate set {name!r}; known: {', '.join(COVARIATE_SETS)}")


class CovariateCache:
    """Each covariate set computed once for a fixed list of points, then sliced by row."""

    def __init__(self, lat: np.ndarray, lon: np.ndarray, functions: dict[str, Callable]):
        self.lat = np.asarray(lat, dtype=np.float64)
        self.lon = np.asarray(lon, dtype=np.float64)
        self.functions = functions
        self._cache: dict[str, np.ndarray] = {}

    def __getitem__(self, name: str) -> np.ndarray:
        if name not in self._cache:
            features = np.asarray(self.functions[name](self.lat, self.lon), dtype=np.float32)
            if features.shape[0] != len(self.lat) or not np.isfinite(features).all():
                raise GeolocError(f"covariate set {name!r} gave a bad matrix {features.shape}")
            self._cache[name] = features
        return self._cache[name]
