"""Positional encodings of (lat, lon) behind one interface, chosen by name (as SatCLIP's
`positional_encoding/` folder does).

Every encoding is an `nn.Module` with `.out_dim` and `forward(lat_deg, lon_deg) -> (N, out_dim)`,
and two honest flags the tests check: `periodic_lon` (continuous across the antimeridian) and
`pole_continuous` (one value at each pole whatever the longitude).
"""

from __future__ import annotations

from geoloc.encoders.positional.raw import RawEncoding
from geoloc.encoders.positional.rff import RandomFourierEncoding
from geoloc.encoders.positional.sh import SphericalHarmonics
from geoloc.encoders.positional.sphere2vec import Sphere2Vec
from geoloc.encoders.positional.wrap import WrapEncoding
from geoloc.errors import GeolocError

ENCODINGS = {
    "sh": SphericalHarmonics,
    "rff": RandomFourierEncoding,
    "wrap": WrapEncoding,
    "sphere2vec": Sphere2Vec,
    "raw": RawEncoding,
}


def build_encoding(name: str, **options):
    """Instantiate the encoding registered under `name` with its keyword options."""
    if name not in ENCODINGS:
        raise GeolocError(
            f"unknown positional encoding {name!r}; choose one of {', '.join(ENCODINGS)}"
        )
    try:
        return ENCODINGS[name](**options)
    except TypeError as err:
        raise GeolocError(f"positional encoding {name!r}: bad options {options}: {err}") from None


def encoding_options(name: str, model_params, seed: int = 0) -> dict:
    """The options of encoding `name` taken from a ModelParams (params.yaml `model:`); `seed`
    draws rff's random frequencies."""
    return {
        "sh": lambda p: {"degrees": p.legendre},
        "rff": lambda p: {
            "sigmas": tuple(p.rff_sigmas),
            "features": p.rff_features,
            "projection": p.rff_projection,
            "seed": seed,
        },
        "wrap": lambda p: {},
        "sphere2vec": lambda p: {"scales": p.s2v_scales, "max_frequency": p.s2v_max_frequency},
        "raw": lambda p: {},
    }[name](model_params)


__all__ = ["ENCODINGS", "build_encoding", "encoding_options"]
