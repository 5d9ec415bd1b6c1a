"""Covariate sets for the SDMs: the vectors each point is described by, chosen by name.

- `trained`: the encoder of the `train` stage (`models/encoder.pt`).
- `random`: the same architecture with seeded random weights (what training adds over nothing).
- `geoclip`: the pretrained GeoCLIP location encoder (Vivanco Cepeda et al. 2023).
- `sh`, `rff`, `wrap`: untrained positional encodings with the options of params `model:`.
- `coords`: lat, lon, their squares and product (a quadratic trend surface).

The names are those of `geoloc.registry.COVARIATES`, whose entries are the `*_set` builders here:
each takes a `CovariateContext` and returns `f(lat, lon) -> (N, D) float32`. Both SDM protocols
(the pipeline's evaluate step and the DISDAT benchmark) build their sets with
`covariate_function`; `covariate_matrix` computes a set once for all points of a step
(observations and grid together), which every fold and block of species then reuses.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from geoloc.errors import GeolocError
from geoloc.params import ModelParams

FeatureFunction = Callable[[np.ndarray, np.ndarray], np.ndarray]
_BATCH = 65536  # points encoded at a time


@dataclass(frozen=True)
class CovariateContext:
    """What a set needs besides the points: params `model:` (the untrained encodings and the
    random network), the seed of their random parts, the device, the trained encoder file."""

    model: ModelParams
    seed: int = 0
    device: object = "cpu"
    encoder: Path | None = None


def covariate_function(name: str, context: CovariateContext) -> FeatureFunction:
    """`f(lat, lon) -> (N, D)` for the registered covariate set `name`."""
    from geoloc.registry import COVARIATES

    return COVARIATES.get(name)(context)


def coords_features(lat: np.ndarray, lon: np.ndarray) -> np.ndarray:
    """(N, 5): lat, lon, lat^2, lon^2, lat*lon."""
    lat = np.asarray(lat, dtype=np.float64)
    lon = np.asarray(lon, dtype=np.float64)
    return np.column_stack([lat, lon, lat**2, lon**2, lat * lon]).astype(np.float32)


def coords_set(context: CovariateContext) -> FeatureFunction:
    return coords_features


def geoclip_set(context: CovariateContext) -> FeatureFunction:
    from geoloc.encoders.geoclip import geoclip_features

    return geoclip_features


def sh_set(context: CovariateContext) -> FeatureFunction:
    return _positional("sh", context)


def rff_set(context: CovariateContext) -> FeatureFunction:
    return _positional("rff", context)


def wrap_set(context: CovariateContext) -> FeatureFunction:
    return _positional("wrap", context)


def _positional(name: str, context: CovariateContext) -> FeatureFunction:
    def compute(lat, lon):
        import torch

        from geoloc.encoders.positional import build_encoding, encoding_options

        options = encoding_options(name, context.model, seed=context.seed)
        encoding = build_encoding(name, **options)
        lat = torch.as_tensor(np.asarray(lat, np.float32))
        lon = torch.as_tensor(np.asarray(lon, np.float32))
        with torch.no_grad():  # in batches: no (N, features) intermediates of the encoding
            out = [
                encoding(lat[i : i + _BATCH], lon[i : i + _BATCH]).float().numpy()
                for i in range(0, len(lat), _BATCH)
            ]
        return np.concatenate(out) if out else np.zeros((0, encoding.out_dim), np.float32)

    return compute


def trained_set(context: CovariateContext) -> FeatureFunction:
    def encode(lat, lon):
        from geoloc.encoders.location_encoder import load_location_encoder

        if context.encoder is None:
            raise GeolocError("covariate set 'trained' needs an encoder file")
        return load_location_encoder(context.encoder, map_location=context.device).encode(lat, lon)

    return encode


def random_set(context: CovariateContext) -> FeatureFunction:
    def encode(lat, lon):
        from geoloc.encoders.location_encoder import build_location_encoder

        encoder = build_location_encoder(context.model, seed=context.seed).to(context.device)
        return encoder.encode(lat, lon)

    return encode


def covariate_matrix(name: str, function: FeatureFunction, lat, lon) -> np.ndarray:
    """(N, D) float32 covariates of set `name` at the points; a bad matrix is a user error."""
    features = np.asarray(
        function(np.asarray(lat, dtype=np.float64), np.asarray(lon, dtype=np.float64)),
        dtype=np.float32,
    )
    if features.ndim != 2 or features.shape[0] != len(lat) or not np.isfinite(features).all():
        raise GeolocError(f"covariate set {name!r} gave a bad matrix {features.shape}")
    return features
