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
        rows = bg.rows(s)
        assert len(rows) == 300
        assert len(np.unique(rows)) == 300
        assert not (keys[rows] == key).any()


def test_background_is_drawn_from_the_target_group_in_proportion():
    keys = _keys()
    bg = target_group_background(keys, np.array([13]), size=1000, seed=0)
    rows = bg.rows(0)
    share = np.mean(keys[rows] == 10)
    assert share == pytest.approx(0.55 / 0.95, abs=0.06)


def test_background_is_seeded():
    keys = _keys()
    species = np.array([10, 12])
    a = target_group_background(keys, species, 200, seed=4)
    b = target_group_background(keys, species, 200, seed=4)
    c = target_group_background(keys, species, 200, seed=5)
    np.testing.assert_array_equal(a.index, b.index)
    np.testing.assert_array_equal(a.members(), b.members())
    assert not np.array_equal(a.rows(0), c.rows(0))


def test_background_takes_all_other_records_when_fewer_than_size():
    keys = np.array([1, 1, 2, 3, 3, 3])
    bg = target_group_background(keys, np.array([1, 3]), size=50, seed=0)
    assert len(bg.rows(0)) == 4
    assert len(bg.rows(1)) == 3


def _dense_reference(keys, species, size, seed):
    """The definition, as a dense (prefix x species) mask: the first `size` records of the
    seeded permutation that are not of the species."""
    perm = np.random.default_rng(seed).permutation(len(keys))
    other = keys[perm][:, None] != species[None, :]
    mask = other & (np.cumsum(other, axis=0) <= size)
    used = np.flatnonzero(mask.any(axis=1))
    last = used[-1] + 1 if len(used) else 0
    return perm[:last], mask[:last]


def test_compact_backgrounds_equal_the_dense_definition():
    rng = np.random.default_rng(0)
    for _ in range(200):
        n_species = int(rng.integers(1, 10))
        keys = rng.choice(10 + np.arange(n_species), size=int(rng.integers(1, 300)),
                          p=rng.dirichlet(np.ones(n_species) * rng.uniform(0.2, 3)))  # fmt: skip
        present = np.unique(keys)
        species = rng.choice(present, size=int(rng.integers(1, len(present) + 1)), replace=False)
        size, seed = int(rng.integers(1, 200)), int(rng.integers(5))
        bg = target_group_background(keys, species, size, seed)
        index, mask = _dense_reference(keys, species, size, seed)
        np.testing.assert_array_equal(bg.index, index)
        np.testing.assert_array_equal(bg.members(), mask)
        np.testing.assert_array_equal(bg.members(slice(1, 3)), mask[:, 1:3])
