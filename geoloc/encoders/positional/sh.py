"""Real spherical harmonics up to degree L-1 (SatCLIP, Klemmer et al. 2023, "legendre_polys").

Fully normalised associated Legendre functions come from the standard stable three-term
recurrences (no symbolic expressions, no factorials), vectorised over the order m so one forward
costs O(L) tensor operations. The basis is orthonormal on the unit sphere and stays accurate for
L well beyond 40.
"""

from __future__ import annotations

import math

import torch
from torch import nn


class SphericalHarmonics(nn.Module):
    """Y_l^m(lat, lon) for l < degrees, all m, ordered l=0..L-1 then m=-l..l: L^2 features."""

    periodic_lon = True
    pole_continuous = True

    def __init__(self, degrees: int = 10):
        super().__init__()
        if degrees < 1:
            raise ValueError("degrees must be >= 1")
        self.degrees = int(degrees)
        self.out_dim = self.degrees**2
        # a_lm, b_lm of P_l^m = a_lm (x P_{l-1}^m - b_lm P_{l-2}^m), for m <= l-2 (row l, cols m)
        a = torch.zeros(self.degrees, self.degrees, dtype=torch.float64)
        b = torch.zeros_like(a)
        for ell in range(2, self.degrees):
            m = torch.arange(ell - 1, dtype=torch.float64)
            a[ell, : ell - 1] = torch.sqrt((4 * ell**2 - 1) / (ell**2 - m**2))
            b[ell, : ell - 1] = torch.sqrt(((ell - 1) ** 2 - m**2) / (4 * (ell - 1) ** 2 - 1))
        self.register_buffer("a", a, persistent=False)
        self.register_buffer("b", b, persistent=False)

    def legendre(self, x: torch.Tensor, s: torch.Tensor) -> list[torch.Tensor]:
        """Normalised P_l^m(x) for each l as an (N, l+1) tensor; x = cos(colat), s = sin(colat)."""
        a, b = self.a.to(x.dtype), self.b.to(x.dtype)
        rows = [torch.full_like(x, 0.5 / math.sqrt(math.pi)).unsqueeze(1)]
        for ell in range(1, self.degrees):
            prev = rows[-1]
            diag_prev = prev[:, ell - 1]
            parts = []
            if ell >= 2:
                inner = prev[:, : ell - 1]
                older = rows[-2][:, : ell - 1]
                parts.append(
                    a[ell, : ell - 1] * (x.unsqueeze(1) * inner - b[ell, : ell - 1] * older)
                )
            parts.append((math.sqrt(2 * ell + 1) * x * diag_prev).unsqueeze(1))
            parts.append((math.sqrt((2 * ell + 1) / (2 * ell)) * s * diag_prev).unsqueeze(1))
            rows.append(torch.cat(parts, dim=1))
        return rows

    @staticmethod
    def options_from_params(model_params, seed: int = 0) -> dict:
        """`model.legendre`: the number of degrees (L, giving L^2 features)."""
        return {"degrees": model_params.legendre}

    def forward(self, lat: torch.Tensor, lon: torch.Tensor) -> torch.Tensor:
        lat_r, lon_r = torch.deg2rad(lat), torch.deg2rad(lon)
        rows = self.legendre(torch.sin(lat_r), torch.cos(lat_r))
        m = torch.arange(1, self.degrees, device=lat.device, dtype=lat.dtype)
        angle = lon_r.unsqueeze(1) * m
        cos_m, sin_m = torch.cos(angle) * math.sqrt(2), torch.sin(angle) * math.sqrt(2)
        out = []
        for ell, p in enumerate(rows):
            # m = -l..-1 (sin terms, reversed), m = 0, m = 1..l (cos terms)
            negative = (p[:, 1:] * sin_m[:, :ell]).flip(1)
            positive = p[:, 1:] * cos_m[:, :ell]
            out.extend([negative, p[:, :1], positive])
        return torch.cat(out, dim=1)
