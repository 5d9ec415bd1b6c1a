import numpy as np
import pandas as pd
import pytest

from geoloc.errors import GeolocError
from geoloc.params import SdmParams
from geoloc.sdm import species_design
from tests.sdm.sdm_data import virtual_world


def _dense(block):
    """(R, k) targets and weights of a block, densified (the test's small sizes only)."""
    targets, weights = block.matrices()
    return targets.toarray(), weights.toarray()


def test_design_keeps_species_with_enough_records_and_their_background():
    obs, _ = virtual_world(n_species=3, per_species=60)
    design = species_design(obs, SdmParams(background=40, folds=3, block_km=150))
    assert list(design.kept) == [1000, 1001, 1002]  # the rare species (3 records) is skipped
    assert design.species.loc[7, "skipped"] and not design.species.loc[1000, "skipped"]
    (block,) = design.blocks(10)
    targets, weights = _dense(block)
    assert targets.shape == weights.shape == (len(design.rows), 3)
    # every record of a species is in its model, and only those are presences
    np.testing.assert_array_equal(targets, design.row_keys[:, None] == design.kept[None, :])
    assert (weights[targets > 0] == 1).all()
    # each background has exactly 40 records, all of other species
    assert ((weights > 0) & (targets == 0)).sum(0).tolist() == [40, 40, 40]
    assert set(np.unique(design.folds)) == {0, 1, 2}


@pytest.mark.parametrize("size", [1, 2, 3])
def test_blocks_of_species_are_column_subsets_of_the_whole_design(size):
    obs, _ = virtual_world(n_species=4, per_species=[50, 20, 70, 30])
    design = species_design(obs, SdmParams(background=30, folds=2))
    (whole,) = design.blocks(len(design.kept))
    targets, weights = _dense(whole)
    blocks = list(design.blocks(size))
    assert len(blocks) == -(-4 // size) and all(b.n_species <= size for b in blocks)
    assert sorted(np.concatenate([b.columns for b in blocks]).tolist()) == [0, 1, 2, 3]
    for block in blocks:
        part_targets, part_weights = _dense(block)
        np.testing.assert_array_equal(part_targets, targets[:, block.columns])
        np.testing.assert_array_equal(part_weights, weights[:, block.columns])
        order = np.lexsort((block.species, block.rows))
        np.testing.assert_array_equal(order, np.arange(len(order)))  # sorted by row


def test_blocks_spread_the_commonest_species_so_they_hold_about_as_many_records():
    obs, _ = virtual_world(n_species=4, per_species=[90, 80, 15, 12], rare=False)
    design = species_design(obs, SdmParams(background=20, folds=2))
    blocks = list(design.blocks(2))
    assert [b.columns.tolist() for b in blocks] == [[0, 2], [1, 3]]  # not [0, 1] and [2, 3]
    assert [int(b.presence.sum()) for b in blocks] == [105, 92]


def test_a_block_keeps_only_its_pairs():
    obs, _ = virtual_world(n_species=3, per_species=40)
    design = species_design(obs, SdmParams(background=20, folds=2))
    (block,) = design.blocks(3)
    assert len(block.rows) == 3 * 40 + 3 * 20  # presences + backgrounds, nothing else
    keep = (block.rows % 2 == 0) & (block.species != 1)
    targets, weights = block.matrices(keep)
    _, all_weights = _dense(block)
    expected = all_weights * (np.arange(len(design.rows)) % 2 == 0)[:, None] * [1, 0, 1]
    np.testing.assert_array_equal(weights.toarray(), expected)  # species 1: an empty column
    assert targets.shape == (len(design.rows), 3)


def test_one_species_has_no_target_group_background():
    obs = pd.DataFrame({"lat": [45.0] * 20, "lon": [2.0] * 20, "species_key": 1, "species": "Sola"})
    with pytest.raises(GeolocError, match="one species only \\(Sola\\).*no target-group"):
        species_design(obs, SdmParams())
