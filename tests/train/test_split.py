"""Spatial block split: whole blocks, about the asked share, deterministic, clear failure."""

import numpy as np
import pytest

from geoloc.errors import GeolocError
from geoloc.train.split import block_ids, spatial_block_split


def test_blocks_are_whole_and_share_is_close():
    rng = np.random.default_rng(0)
    lat, lon = rng.uniform(42, 51, 3000), rng.uniform(-5, 8, 3000)
    val = spatial_block_split(lat, lon, 0.2, 50.0, seed=0)
    ids = block_ids(lat, lon, 50.0)
    assert not set(ids[val]) & set(ids[~val])
    assert 0.17 < val.mean() < 0.25
    np.testing.assert_array_equal(val, spatial_block_split(lat, lon, 0.2, 50.0, seed=0))
    assert not np.array_equal(val, spatial_block_split(lat, lon, 0.2, 50.0, seed=1))


def test_blocks_are_about_block_km_wide_at_any_latitude():
    for lat0 in (0.0, 60.0):
        lat = np.full(200, lat0 + 0.01)
        lon = np.linspace(0, 10, 200)
        n_blocks = len(np.unique(block_ids(lat, lon, 100.0)))
        km = 10 * 111.195 * np.cos(np.deg2rad(lat0))
        assert abs(n_blocks - km / 100) <= 2


def test_one_block_cannot_be_split():
    with pytest.raises(GeolocError, match="lower train.val_block_km"):
        spatial_block_split(np.array([45.0, 45.01]), np.array([2.0, 2.01]), 0.2, 50.0, 0)
