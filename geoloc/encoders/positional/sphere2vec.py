"""Sphere2Vec "sphereM" (Mai et al. 2023) with odd-integer frequencies.

Per scale s: [sin(w_s phi), cos(w_s phi) cos(lam), cos(phi) cos(w_s lam),
cos(w_s phi) sin(lam), cos(phi) sin(w_s lam)]. The paper spaces w_s geometrically; rounding each
to an odd integer keeps that multi-scale spacing while making every term a continuous function on
the sphere: integer w_s is periodic in longitude and odd w_s makes cos(w_s phi) vanish at the poles.
"""

from __future__ import annotations

import torch
from torch import nn


def odd_frequencies(scales: int, max_frequency: float) -> list[int]:
    """`scales` distinct odd integers spaced geometrically from 1 up to about `max_frequency`."""
    freqs: list[int] = []
    for s in range(scales):
        raw = max_frequency ** (s / max(scales - 1, 1))
        odd = max(1, 2 * round((raw - 1) / 2) + 1)
        if freqs and odd <= freqs[-1]:
            odd = freqs[-1] + 2
        freqs.append(odd)
    return freqs


class Sphere2Vec(nn.Module):
    """sphereM at `scales` odd-integer frequencies up to ~`max_frequency` cycles per 2 pi."""

    periodic_lon = True
    pole_continuous = True

    def __init__(self, scales: int = 16, max_frequency: float = 64.0):
        super().__init__()
        self.frequencies = odd_frequencies(scales, max_frequency)
        self.register_buffer(
            "freq", torch.tensor(self.frequencies, dtype=torch.float32), persistent=False
        )
        self.out_dim = 5 * len(self.frequencies)

    @staticmethod
    def options_from_params(model_params, seed: int = 0) -> dict:
        """`model.s2v_*` params."""
        return {"scales": model_params.s2v_scales, "max_frequency": model_params.s2v_max_frequency}

    def forward(self, lat: torch.Tensor, lon: torch.Tensor) -> torch.Tensor:
        phi = torch.deg2rad(lat).unsqueeze(1)
        lam = torch.deg2rad(lon).unsqueeze(1)
        freq = self.freq.to(lat.dtype)
        phi_s, lam_s = phi * freq, lam * freq
        cos_phi = torch.cos(phi)
        return torch.cat(
            [
                torch.sin(phi_s),
                torch.cos(phi_s) * torch.cos(lam),
                cos_phi * torch.cos(lam_s),
                torch.cos(phi_s) * torch.sin(lam),
                cos_phi * torch.sin(lam_s),
            ],
            dim=1,
        )
