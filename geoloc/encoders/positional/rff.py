"""Multi-scale random Fourier features (GeoCLIP, Vivanco et al. 2023).

GeoCLIP projects (lat, lon) with the Equal Earth projection, scaled as in its code so the map
spans about [-1.5, 1.5] x [-0.75, 0.75], and applies Gaussian random Fourier features at several
scales sigma: cos/sin(2 pi B v) with B ~ N(0, sigma^2). A feature's wavelength is about
133 / sigma degrees, so sigmas 2^0, 2^4, 2^8 (GeoCLIP) span the globe to ~0.5 degrees; a
country-sized region needs mid scales (e.g. 8-64).

`projection="ecef"` uses the 3-D unit vector instead (scaled by 180/(pi*66.5) so a sigma means
the same wavelength): the only variant continuous across the antimeridian and at the poles.
"""

from __future__ import annotations

import math

import torch
from torch import nn

from geoloc.geometry import unit_vectors

# Equal Earth constants, as in geoclip.model.location_encoder
A1, A2, A3, A4, SF = 1.340264, -0.081106, 0.000893, 0.003796, 66.50336


def equal_earth(lat: torch.Tensor, lon: torch.Tensor) -> torch.Tensor:
    """GeoCLIP's scaled Equal Earth projection of degrees -> (N, 2) map coordinates."""
    theta = torch.asin(math.sqrt(3.0) / 2 * torch.sin(torch.deg2rad(lat)))
    t2 = theta * theta
    denominator = 3 * (9 * A4 * t2**4 + 7 * A3 * t2**3 + 3 * A2 * t2 + A1)
    x = 2 * math.sqrt(3.0) * torch.deg2rad(lon) * torch.cos(theta) / denominator
    y = theta * (A1 + t2 * (A2 + t2 * t2 * (A3 + A4 * t2)))
    return torch.stack([x, y], dim=1) * (SF / 180.0)


def unit_vector(lat: torch.Tensor, lon: torch.Tensor) -> torch.Tensor:
    """Earth-centred unit vector, scaled to Equal Earth map units (1 rad ~ 180/SF)."""
    return unit_vectors(lat, lon) * (SF / 180.0)


PROJECTIONS = {"equal_earth": (equal_earth, 2), "ecef": (unit_vector, 3)}


class RandomFourierEncoding(nn.Module):
    """cos/sin(2 pi B_s v) for each sigma s; 2 * features * len(sigmas) outputs."""

    def __init__(
        self,
        sigmas: tuple[float, ...] = (1.0, 16.0, 256.0),
        features: int = 256,
        projection: str = "equal_earth",
        seed: int = 0,
    ):
        super().__init__()
        if projection not in PROJECTIONS:
            raise ValueError(f"projection must be one of {', '.join(PROJECTIONS)}")
        self.project, in_dim = PROJECTIONS[projection]
        self.projection = projection
        self.periodic_lon = self.pole_continuous = projection == "ecef"
        self.sigmas = tuple(float(s) for s in sigmas)
        generator = torch.Generator().manual_seed(seed)
        b = torch.cat([torch.randn(features, in_dim, generator=generator) * s for s in self.sigmas])
        # persistent: the random matrix is part of the model and travels with its checkpoint
        self.register_buffer("b", b)
        self.out_dim = 2 * b.shape[0]

    @staticmethod
    def options_from_params(model_params, seed: int = 0) -> dict:
        """`model.rff_*` params; `seed` draws the random frequencies."""
        return {
            "sigmas": tuple(model_params.rff_sigmas),
            "features": model_params.rff_features,
            "projection": model_params.rff_projection,
            "seed": seed,
        }

    def forward(self, lat: torch.Tensor, lon: torch.Tensor) -> torch.Tensor:
        v = self.project(lat, lon)
        phase = 2 * math.pi * v @ self.b.to(v.dtype).T
        return torch.cat([torch.cos(phase), torch.sin(phase)], dim=1)
