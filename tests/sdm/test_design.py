import numpy as np

from geoloc.params import SdmParams
from geoloc.sdm import species_design
from tests.sdm.sdm_data import virtual_world


def test_design_keeps_species_with_enough_records_and_their_background():
    obs, _ = virtual_world(n_species=3, per_species=60)
    design = species_design(obs, SdmParams(background=40, folds=3, block_km=150))
    assert list(design.kept) == [1000, 1001, 1002]  # the rare species (3 records) is skipped
    assert design.species.loc[7, "skipped"] and not design.species.loc[1000, "skipped"]
    targets, weights = design.targets(), design.weights()
    assert targets.shape == weights.shape == (len(design.rows), 3)
    # every presence is in its species' model; each background has exactly 40 other records
    assert (weights[targets > 0] == 1).all()
    assert ((weights > 0) & (targets == 0)).sum(0).tolist() == [40, 40, 40]
    assert set(np.unique(design.folds)) == {0, 1, 2}


def test_a_block_of_species_columns_equals_the_slice_of_the_whole_design():
    obs, _ = virtual_world(n_species=4, per_species=50)
    design = species_design(obs, SdmParams(background=30, folds=2))
    block = np.array([1, 3])
    np.testing.assert_array_equal(design.targets(block), design.targets()[:, block])
    np.testing.assert_array_equal(design.weights(block), design.weights()[:, block])
