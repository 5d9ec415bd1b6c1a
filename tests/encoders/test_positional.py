"""Every positional encoding: shapes, honest continuity flags, and GeoCLIP's projection."""

import pytest
import torch

from geoloc.encoders.positional import build_encoding
from geoloc.encoders.positional.sphere2vec import odd_frequencies
from geoloc.errors import GeolocError
from geoloc.registry import ENCODINGS

VARIANTS = {
    "sh": {"degrees": 12},
    "rff": {"sigmas": (1.0, 16.0), "features": 32},
    "rff-ecef": {"sigmas": (1.0, 16.0), "features": 32, "projection": "ecef"},
    "wrap": {},
    "sphere2vec": {"scales": 8, "max_frequency": 32},
    "raw": {},
}
EPS = 1e-6  # degrees


def _build(variant):
    return build_encoding(variant.split("-")[0], **VARIANTS[variant])


def _jump(enc, lat_a, lon_a, lat_b, lon_b) -> float:
    t = lambda v: torch.tensor(v, dtype=torch.float64)  # noqa: E731
    return (enc(t(lat_a), t(lon_a)) - enc(t(lat_b), t(lon_b))).abs().max().item()


def test_every_registered_encoding_is_tested_and_unknown_names_are_user_errors():
    assert {variant.split("-")[0] for variant in VARIANTS} == set(ENCODINGS.names())
    with pytest.raises(GeolocError, match="unknown positional encoding 'fourier'; known: sh"):
        build_encoding("fourier")


@pytest.mark.parametrize("variant", VARIANTS)
def test_shape_and_finite(variant):
    enc = _build(variant)
    lat = torch.tensor([-90.0, -45.0, 0.0, 46.5, 90.0])
    lon = torch.tensor([-180.0, 2.3, 180.0, -73.0, 0.0])
    out = enc(lat, lon)
    assert out.shape == (5, enc.out_dim) and torch.isfinite(out).all()


@pytest.mark.parametrize("variant", VARIANTS)
def test_continuity_flags_are_honest(variant):
    """A flagged-continuous encoding has no jump; an unflagged one really has one."""
    enc = _build(variant)
    lats = [-60.0, 0.0, 35.0, 80.0]
    across = _jump(enc, lats, [180.0 - EPS] * 4, lats, [-180.0 + EPS] * 4)
    lons = [-170.0, -30.0, 45.0, 120.0]
    north = _jump(enc, [90.0 - EPS] * 4, lons, [90.0 - EPS] * 4, [0.0] * 4)
    south = _jump(enc, [-90.0 + EPS] * 4, lons, [-90.0 + EPS] * 4, [0.0] * 4)
    assert (across < 1e-3) == enc.periodic_lon, across
    assert (max(north, south) < 1e-3) == enc.pole_continuous, (north, south)


def test_spherical_encodings_are_continuous_everywhere():
    flagged = {v for v in VARIANTS if _build(v).periodic_lon and _build(v).pole_continuous}
    assert flagged == {"sh", "rff-ecef", "sphere2vec"}


def test_rff_equal_earth_matches_geoclip_and_is_seeded():
    from geoloc.encoders.positional.rff import equal_earth

    lat = torch.tensor([-89.0, -30.0, 0.0, 48.85, 89.0])
    lon = torch.tensor([-179.0, 151.2, 0.0, 2.35, 179.0])
    # geoclip 1.3.0: equal_earth_projection(torch.stack([lat, lon], 1)) (its input is (lat, lon))
    expected = torch.tensor(
        [
            [-0.5894328355789185, -0.4866066873073578],
            [0.7857110500335693, -0.21906763315200806],
            [0.0, 0.0],
            [0.010868986137211323, 0.3411087393760681],
            [0.5894328355789185, 0.4866066873073578],
        ]
    )
    torch.testing.assert_close(equal_earth(lat, lon), expected, rtol=1e-5, atol=1e-6)
    a, b = build_encoding("rff", seed=3), build_encoding("rff", seed=3)
    assert torch.equal(a.b, b.b) and not torch.equal(a.b, build_encoding("rff", seed=4).b)


def test_sphere2vec_frequencies_are_distinct_odd_integers():
    freqs = odd_frequencies(16, 64.0)
    assert len(set(freqs)) == 16 and all(f % 2 == 1 for f in freqs)
    assert freqs[0] == 1 and 50 <= freqs[-1] <= 80
