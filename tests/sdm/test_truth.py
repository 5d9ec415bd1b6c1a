import numpy as np
import pandas as pd
import pytest

from geoloc.sdm.stats import auc
from geoloc.sdm.truth import truth_cells, truth_grid
from tests.sdm.sdm_data import virtual_world


def test_truth_cells_score_a_block_of_species_like_each_species_alone():
    _, truth = virtual_world(n_species=4)
    grid = truth_grid(truth)
    kept = np.array([1000, 1002, 1003])  # 1001 is not modelled
    cells = truth_cells(truth, grid, kept)
    scores = np.random.default_rng(0).random((len(grid), 2)).astype(np.float32)
    out = cells.aucs(np.array([1, 2]), scores)  # the block of species 1002 and 1003
    for column, key in enumerate([1002, 1003]):
        rows = truth[truth["species_key"] == key]
        present = rows.set_index(["lat", "lon"])["present"]
        order = pd.MultiIndex.from_frame(grid).get_indexer(present.index)
        assert out[column] == pytest.approx(auc(present.to_numpy(), scores[order, column]))


def test_truth_cells_take_any_presence_of_duplicates_and_skip_unknown_cells():
    truth = pd.DataFrame(
        {
            "species_key": [5, 5, 5, 5, 5],
            "lat": [45.0, 45.0, 46.0, 47.0, 48.0],
            "lon": [1.0, 1.0, 1.0, 1.0, 1.0],
            "present": [False, True, False, np.nan, True],
        }
    )
    grid = pd.DataFrame({"lat": [45.0, 46.0, 47.0], "lon": [1.0, 1.0, 1.0]})  # 48: off grid
    cells = truth_cells(truth, grid, np.array([5]))
    assert cells.cell.tolist() == [0, 1] and cells.present.tolist() == [True, False]
    assert cells.aucs(np.array([0]), np.array([[0.9], [0.1], [0.5]])).tolist() == [1.0]
