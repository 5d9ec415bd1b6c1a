"""Networks that map a positional encoding to the location embedding, chosen by name.

`siren`: sine-activated MLP as in SatCLIP (Sitzmann et al. 2020 initialisation).
`resmlp`: SINR's residual MLP (Cole et al. 2023). `mlp`: plain ReLU MLP.
All take (N, in_dim) and return (N, out_dim); `layers` counts the hidden layers/blocks, and
`options_from_params(model_params)` picks their keyword options from params.yaml `model:`. The names
are `geoloc.registry.NETWORKS`.
"""

from __future__ import annotations

import math

import torch
from torch import nn

from geoloc.registry import NETWORKS


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


def dropout_options(model_params) -> dict:
    """`model.dropout`: the one option of the ReLU networks."""
    return {"dropout": model_params.dropout}


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

    @staticmethod
    def options_from_params(model_params) -> dict:
        """`model.dropout` and the sine frequency factor `model.w0`."""
        return {"dropout": model_params.dropout, "w0": model_params.w0}


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

    options_from_params = staticmethod(dropout_options)


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

    options_from_params = staticmethod(dropout_options)


def build_network(name: str, in_dim: int, hidden: int, layers: int, out_dim: int, **options):
    """Instantiate the network registered under `name` (geoloc.registry.NETWORKS)."""
    return NETWORKS.get(name)(in_dim, hidden, layers, out_dim, **options)


def network_options(name: str, model_params) -> dict:
    """The options of network `name` taken from a ModelParams (params.yaml `model:`)."""
    return NETWORKS.get(name).options_from_params(model_params)
