"""Scaled raw coordinates (lat/90, lon/180): the floor every learned encoding must beat."""

from __future__ import annotations

import torch
from torch import nn


class RawEncoding(nn.Module):
    """(lat/90, lon/180); neither periodic nor pole-continuous, by nature."""

    periodic_lon = False
    pole_continuous = False
    out_dim = 2

    @staticmethod
    def options_from_params(model_params, seed: int = 0) -> dict:
        """No options: the raw coordinates have no knobs."""
        return {}

    def forward(self, lat: torch.Tensor, lon: torch.Tensor) -> torch.Tensor:
        return torch.stack([lat / 90.0, lon / 180.0], dim=1)
