import numpy as np
import pytest

from geoloc.sdm.background import target_group_background


def _keys(seed=0):
    rng = np.random.default_rng(seed)
    return rng.choice([10, 11, 12, 13], size=2000, p=[0.55, 0.25, 0.15, 0.05])


def test_background_excludes_the_species_itself_and_has_the_requested_size():
    keys = _keys()
    species = np.array([10, 11, 12, 13])
    bg = target_group_background(keys, species, size=300, seed=0)
    for s, key in enumerate(species):
        rows = bg.index[bg.mask[:, s]]
        assert len(rows) == 300
        assert len(np.unique(rows)) == 300
        assert not (keys[rows] == key).any()


def test_background_is_drawn_from_the_target_group_in_proportion():
    keys = _keys()
    bg = target_group_background(keys, np.array([13]), size=1000, seed=0)
    rows = bg.index[bg.mask[:, 0]]
    share = np.mean(keys[rows] == 10)
    assert share == pytest.approx(0.55 / 0.95, abs=0.06)


def test_background_is_seeded():
    keys = _keys()
    species = np.array([10, 12])
    a = target_group_background(keys, species, 200, seed=4)
    b = target_group_background(keys, species, 200, seed=4)
    c = target_group_background(keys, species, 200, seed=5)
    np.testing.assert_array_equal(a.index, b.index)
    np.testing.assert_array_equal(a.mask, b.mask)
    assert not np.array_equal(a.index[a.mask[:, 0]], c.index[c.mask[:, 0]])


def test_background_takes_all_other_records_when_fewer_than_size():
    keys = np.array([1, 1, 2, 3, 3, 3])
    bg = target_group_background(keys, np.array([1, 3]), size=50, seed=0)
    assert bg.mask[:, 0].sum() == 4
    assert bg.mask[:, 1].sum() == 3
