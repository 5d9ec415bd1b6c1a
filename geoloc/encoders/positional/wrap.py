"""SINR's "wrap" input encoding (Cole et al. 2023): sin/cos of the scaled coordinates.

Longitude wraps (continuous across the antimeridian); as in SINR, the longitude terms still
vary around a pole, so the encoding is not pole-continuous.
"""

from __future__ import annotations

import math

import torch
from torch import nn


class WrapEncoding(nn.Module):
    """[sin(pi lon/180), sin(pi lat/90), cos(pi lon/180), cos(pi lat/90)]."""

    periodic_lon = True
    pole_continuous = False
    out_dim = 4

    @staticmethod
    def options_from_params(model_params, seed: int = 0) -> dict:
        """No options: SINR's wrap encoding has no knobs."""
        return {}

    def forward(self, lat: torch.Tensor, lon: torch.Tensor) -> torch.Tensor:
        scaled = torch.stack([lon / 180.0, lat / 90.0], dim=1) * math.pi
        return torch.cat([torch.sin(scaled), torch.cos(scaled)], dim=1)
