"""Spherical harmonics: closed forms at low degree, orthonormality by quadrature, stability."""

import math

import numpy as np
import torch

from geoloc.encoders.positional import build_encoding


def _random_points(n=500, seed=0):
    g = torch.Generator().manual_seed(seed)
    lat = torch.rand(n, generator=g, dtype=torch.float64) * 180 - 90
    lon = torch.rand(n, generator=g, dtype=torch.float64) * 360 - 180
    return lat, lon


def test_degrees_0_to_2_match_closed_forms():
    lat, lon = _random_points()
    y = build_encoding("sh", degrees=3)(lat, lon)
    assert y.shape == (500, 9)
    la, lo = torch.deg2rad(lat), torch.deg2rad(lon)
    x, yy, z = torch.cos(la) * torch.cos(lo), torch.cos(la) * torch.sin(lo), torch.sin(la)
    c1, c2 = math.sqrt(3 / (4 * math.pi)), 0.5 * math.sqrt(15 / math.pi)
    expected = torch.stack(
        [
            torch.full_like(x, 0.5 / math.sqrt(math.pi)),  # l=0
            c1 * yy,  # l=1, m=-1
            c1 * z,  # l=1, m=0
            c1 * x,  # l=1, m=1
            c2 * x * yy,  # l=2, m=-2
            c2 * yy * z,  # l=2, m=-1
            0.25 * math.sqrt(5 / math.pi) * (3 * z**2 - 1),  # l=2, m=0
            c2 * x * z,  # l=2, m=1
            0.5 * c2 * (x**2 - yy**2),  # l=2, m=2
        ],
        dim=1,
    )
    torch.testing.assert_close(y, expected, rtol=1e-10, atol=1e-12)


def _gauss_grid(degrees: int):
    """Exact quadrature for products of harmonics of degree < `degrees`."""
    nodes, weights = np.polynomial.legendre.leggauss(degrees + 1)
    n_lon = 2 * degrees + 1
    lon = np.arange(n_lon) * 360.0 / n_lon - 180.0
    lat = np.degrees(np.arcsin(nodes))
    w = np.repeat(weights, n_lon) * 2 * np.pi / n_lon
    return (
        torch.tensor(np.repeat(lat, n_lon)),
        torch.tensor(np.tile(lon, len(lat))),
        torch.tensor(w),
    )


def test_orthonormal_on_the_sphere_up_to_degree_40():
    degrees = 41
    lat, lon, w = _gauss_grid(degrees)
    y = build_encoding("sh", degrees=degrees)(lat, lon)
    # all degree-40 harmonics and a sample of the rest, against every harmonic
    cols = torch.cat([torch.arange(0, 40**2, 13), torch.arange(40**2, degrees**2)])
    gram = (y[:, cols] * w[:, None]).T @ y
    assert (gram - torch.eye(degrees**2, dtype=gram.dtype)[cols]).abs().max() < 1e-10


def test_float32_stays_accurate_at_high_degree():
    sh = build_encoding("sh", degrees=64)
    lat, lon = _random_points(200, seed=1)
    y64, y32 = sh(lat, lon), sh(lat.float(), lon.float())
    assert torch.isfinite(y32).all()
    # values are O(sqrt((2l+1)/4pi)) ~ 2; float32 recurrences keep ~1e-4 absolute accuracy
    assert (y64 - y32.double()).abs().max() < 1e-3
