"""Networks that map a positional encoding to the location embedding, chosen by name.

`siren`: sine-activated MLP as in SatCLIP (Sitzmann et al. 2020 initialisation).
`resmlp`: SINR's residual MLP (Cole et al. 2023). `mlp`: plain ReLU MLP.
All take (N, in_dim) and return (N, out_dim); `layers` counts the hidden layers/blocks.
"""

from __future__ import annotations

import math

import torch
from torch import nn

from geoloc.errors import GeolocError


class Sine(nn.Module):
    def __init__(self, w0: float):
        super().__init__()
        self.w0 = w0

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.sin(self.w0 * x)


def _siren_linear(in_dim: int, out_dim: int, w0: float, first: bool) -> nn.Linear:
    """SIREN init: keeps sin pre-activations ~U(-pi/2, pi/2)-like at every depth."""
    layer = nn.Linear(in_dim, out_dim)
    bound = 1.0 / in_dim if first else math.sqrt(6.0 / in_dim) / w0
    nn.init.uniform_(layer.weight, -bound, bound)
    nn.init.uniform_(layer.bias, -bound, bound)
    return layer


class Siren(nn.Sequential):
    def __init__(
        self, in_dim: int, hidden: int, layers: int, out_dim: int, w0: float = 1.0, dropout=0.0
    ):
        modules: list[nn.Module] = []
        dim = in_dim
        for i in range(layers):
            modules += [_siren_linear(dim, hidden, w0, first=i == 0 and w0 > 1), Sine(w0)]
            if dropout:
                modules.append(nn.Dropout(dropout))
            dim = hidden
        modules.append(_siren_linear(dim, out_dim, w0, first=False))
        super().__init__(*modules)


class ResidualBlock(nn.Module):
    """SINR's ResLayer: x + relu(W2 dropout(relu(W1 x)))."""

    def __init__(self, dim: int, dropout: float):
        super().__init__()
        self.body = nn.Sequential(
            nn.Linear(dim, dim), nn.ReLU(), nn.Dropout(dropout), nn.Linear(dim, dim), nn.ReLU()
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.body(x)


class ResMLP(nn.Sequential):
    def __init__(self, in_dim: int, hidden: int, layers: int, out_dim: int, dropout: float = 0.0):
        blocks = [ResidualBlock(hidden, dropout) for _ in range(layers)]
        super().__init__(nn.Linear(in_dim, hidden), nn.ReLU(), *blocks, nn.Linear(hidden, out_dim))


class MLP(nn.Sequential):
    def __init__(self, in_dim: int, hidden: int, layers: int, out_dim: int, dropout: float = 0.0):
        modules: list[nn.Module] = []
        dim = in_dim
        for _ in range(layers):
            modules += [nn.Linear(dim, hidden), nn.ReLU()]
            if dropout:
                modules.append(nn.Dropout(dropout))
            dim = hidden
        modules.append(nn.Linear(dim, out_dim))
        super().__init__(*modules)


NETWORKS = {"siren": Siren, "resmlp": ResMLP, "mlp": MLP}


def build_network(name: str, in_dim: int, hidden: int, layers: int, out_dim: int, **options):
    if name not in NETWORKS:
        raise GeolocError(f"unknown network {name!r}; choose one of {', '.join(NETWORKS)}")
    return NETWORKS[name](in_dim, hidden, layers, out_dim, **options)
