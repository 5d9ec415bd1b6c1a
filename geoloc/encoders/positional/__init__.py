"""Positional encodings of (lat, lon) behind one interface, chosen by name (as SatCLIP's
`positional_encoding/` folder does); the names are `geoloc.registry.ENCODINGS`.

Every encoding is an `nn.Module` with `.out_dim` and `forward(lat_deg, lon_deg) -> (N, out_dim)`,
two honest flags the tests check: `periodic_lon` (continuous across the antimeridian) and
`pole_continuous` (one value at each pole whatever the longitude), and a static
`options_from_params(model_params, seed)` that picks its keyword options from params.yaml `model:`.
"""

from __future__ import annotations

from geoloc.errors import GeolocError
from geoloc.registry import ENCODINGS


def build_encoding(name: str, **options):
    """Instantiate the encoding registered under `name` with its keyword options."""
    encoding = ENCODINGS.get(name)
    try:
        return encoding(**options)
    except TypeError as err:
        raise GeolocError(f"positional encoding {name!r}: bad options {options}: {err}") from None


def encoding_options(name: str, model_params, seed: int = 0) -> dict:
    """The options of encoding `name` taken from a ModelParams (params.yaml `model:`); `seed`
    draws rff's random frequencies."""
    return ENCODINGS.get(name).options_from_params(model_params, seed)


__all__ = ["build_encoding", "encoding_options"]
