import numpy as np
import pytest

from geoloc.errors import GeolocError
from geoloc.geometry import (
    KM_PER_DEGREE,
    assign_folds,
    block_ids,
    great_circle_km,
    nearest_neighbours,
    spatial_block_split,
    spatial_folds,
    unit_vectors,
)


def _points(n=3000, seed=0):
    rng = np.random.default_rng(seed)
    return rng.uniform(42, 51, n), rng.uniform(-5, 8, n)


def test_every_block_lies_in_exactly_one_fold():
    lat, lon = _points()
    blocks = block_ids(lat, lon, 50.0)
    folds = spatial_folds(lat, lon, 50.0, 5, seed=3)
    for block in np.unique(blocks):
        assert len(np.unique(folds[blocks == block])) == 1
    assert set(folds) == set(range(5))


def test_no_training_point_is_near_a_test_point_from_another_block():
    """Points of different folds are in different blocks: the closest pair across folds is
    never within the same block cell (checked against the block ids directly)."""
    lat, lon = _points(800)
    blocks = block_ids(lat, lon, 100.0)
    folds = spatial_folds(lat, lon, 100.0, 4, seed=0)
    for k in range(4):
        assert not set(blocks[folds == k]) & set(blocks[folds != k])


def test_blocks_have_the_requested_size():
    # Two points 30 km apart north-south share a 50 km block only if no boundary lies between;
    # points 120 km apart never do.
    lat = np.array([46.0, 46.0 + 120 / 111.2])
    lon = np.array([2.0, 2.0])
    ids = block_ids(lat, lon, 50.0)
    assert ids[0] != ids[1]
    assert len(np.unique(block_ids(lat, lon, 1000.0))) == 1


def test_folds_are_balanced_and_seeded():
    lat, lon = _points()
    folds = spatial_folds(lat, lon, 25.0, 5, seed=1)
    counts = np.bincount(folds, minlength=5)
    assert counts.min() > 0.8 * counts.max()
    np.testing.assert_array_equal(folds, spatial_folds(lat, lon, 25.0, 5, seed=1))
    assert not np.array_equal(folds, spatial_folds(lat, lon, 25.0, 5, seed=2))


def test_bad_arguments():
    with pytest.raises(ValueError):
        block_ids(np.zeros(2), np.zeros(2), 0)
    with pytest.raises(ValueError):
        assign_folds(np.zeros(3, dtype=np.int64), 1)


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
        km = 10 * KM_PER_DEGREE * np.cos(np.deg2rad(lat0))
        assert abs(n_blocks - km / 100) <= 2


def test_one_block_cannot_be_split():
    with pytest.raises(GeolocError, match="lower train.val_block_km"):
        spatial_block_split(np.array([45.0, 45.01]), np.array([2.0, 2.01]), 0.2, 50.0, 0)


def test_great_circle_matches_known_distances_for_numpy_and_torch():
    import torch

    # Paris - Marseille ~ 661 km; a quarter meridian = pi/2 R.
    paris, marseille = (48.8566, 2.3522), (43.2965, 5.3698)
    km = great_circle_km(np.float64(paris[0]), paris[1], marseille[0], marseille[1])
    assert abs(km - 661) < 2
    quarter = great_circle_km(torch.tensor([0.0]), torch.tensor([0.0]), torch.tensor([90.0]), 0.0)
    assert isinstance(quarter, torch.Tensor)
    assert abs(float(quarter) - KM_PER_DEGREE * 90) < 0.01


def test_nearest_neighbours_follow_great_circle_distance_across_the_antimeridian():
    import torch

    rng = np.random.default_rng(3)
    lat, lon = rng.uniform(-50, -30, 400), (rng.uniform(170, 190, 400) + 180) % 360 - 180
    np.testing.assert_allclose(
        unit_vectors(torch.tensor(lat), torch.tensor(lon)).numpy(), unit_vectors(lat, lon)
    )
    km = great_circle_km(lat[:40, None], lon[:40, None], lat[None], lon[None])
    expected = np.argsort(km, axis=1)[:, :6]
    np.testing.assert_array_equal(nearest_neighbours(lat[:40], lon[:40], lat, lon, 6), expected)
    with pytest.raises(GeolocError, match="cannot take 401 nearest of 400"):
        nearest_neighbours(lat, lon, lat, lon, 401)
