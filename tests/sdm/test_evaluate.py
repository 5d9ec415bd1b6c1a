import json
from pathlib import Path

import numpy as np
import pytest

from geoloc.params import SdmParams
from geoloc.sdm import coords_features, evaluate_sdm
from tests.sdm.sdm_data import (
    demo_like_world,
    noise_features,
    virtual_world,
    waves_features,
    wide_features,
)

SDM = SdmParams(background=150, block_km=150, folds=3, bootstrap=200)
COVARIATES = {"coords": coords_features, "noise": noise_features}
DEMO_SDM = SdmParams(background=150, block_km=150, folds=3, bootstrap=200, map_species=2)
DEMO_SETS = {"coords": coords_features, "waves": waves_features, "wide": wide_features}
DENSE = json.loads((Path(__file__).parent / "dense_reference.json").read_text())
BLOCKS = (1, 5, 100)  # one species at a time, two blocks of five, all ten at once


def test_evaluation_scores_cv_and_truth_and_counts_skipped_species():
    obs, truth = virtual_world()
    result = evaluate_sdm(obs, COVARIATES, SDM, truth=truth, device="cpu")
    m = result.metrics
    assert (m["n_species"], m["n_skipped"]) == (4, 1)
    assert m["auc_coords"] > 0.75 and m["truth_auc_coords"] > 0.85
    assert abs(m["auc_noise"] - 0.5) < 0.1 and abs(m["truth_auc_noise"] - 0.5) < 0.1
    assert m["delta_coords_noise"] == pytest.approx(m["auc_coords"] - m["auc_noise"], abs=1e-3)
    rare = result.per_species.set_index("species_key").loc[7]
    assert rare["skipped"] and np.isnan(rare["auc_coords"])
    assert set(result.maps["layer"]) == {"truth", "coords", "noise"}
    assert result.maps["species_key"].nunique() == 3
    assert result.embedding_grid is None  # no `trained` set


def test_without_truth_there_are_no_truth_keys_and_the_map_grid_is_the_observed_cells():
    obs, _ = virtual_world(rare=False)
    result = evaluate_sdm(obs, COVARIATES, SDM, device="cpu")
    assert not any(key.startswith("truth") for key in result.metrics)
    assert "truth" not in set(result.maps["layer"])


def test_the_learner_of_sdm_params_is_used_with_its_options():
    obs, _ = virtual_world(rare=False)
    forest = SDM.model_copy(
        update={"learner": "rf_downsampled", "learner_options": {"n_estimators": 5}}
    )
    result = evaluate_sdm(obs, {"coords": coords_features}, forest, device="cpu")
    logistic = evaluate_sdm(obs, {"coords": coords_features}, SDM, device="cpu")
    assert result.metrics["auc_coords"] > 0.7
    assert result.metrics["auc_coords"] != logistic.metrics["auc_coords"]


@pytest.fixture(scope="module")
def blocked():
    """The demo-like evaluation with species blocks of 1, 5 and all."""
    obs, truth = demo_like_world()
    return {
        size: evaluate_sdm(
            obs, DEMO_SETS, DEMO_SDM.model_copy(update={"species_block": size}), truth=truth
        )
        for size in BLOCKS
    }


@pytest.mark.parametrize("size", BLOCKS)
def test_species_blocks_give_the_dense_evaluations_results(blocked, size):
    result = blocked[size]
    assert result.metrics.keys() == DENSE["metrics"].keys()
    for key, value in DENSE["metrics"].items():
        assert result.metrics[key] == pytest.approx(value, abs=1e-4), key
    table = result.per_species.set_index("species_key")
    for key, values in DENSE["per_species"].items():
        for column, value in values.items():
            got = table.loc[int(key), column]
            if value is None:
                assert np.isnan(got), (key, column)
            else:
                assert got == pytest.approx(value, abs=1e-4), (key, column)


def test_species_blocks_map_the_same_predictions(blocked):
    reference = blocked[BLOCKS[-1]].maps
    assert set(reference["layer"]) == {"truth", *DEMO_SETS}
    assert reference["species_key"].nunique() == 2
    for size in BLOCKS[:-1]:
        maps = blocked[size].maps
        assert maps[["species_key", "layer"]].equals(reference[["species_key", "layer"]])
        np.testing.assert_allclose(maps["value"], reference["value"], atol=1e-4)


def test_the_progress_bar_names_the_set_being_fitted(capsys):
    obs, _ = virtual_world(rare=False)
    evaluate_sdm(obs, COVARIATES, SDM.model_copy(update={"species_block": 2}), device="cpu")
    progress = capsys.readouterr().err
    assert "set coords" in progress and "set noise" in progress
    assert "/16 " in progress  # 2 sets x 2 blocks x (3 folds + the all-folds fit)


def test_a_learner_whose_species_share_parameters_sees_all_species_in_one_block(capsys):
    obs, truth = virtual_world(rare=False)
    options = {"epochs": 40, "hidden": 32, "lr": 3e-3}
    network = SDM.model_copy(
        update={"learner": "maxent", "learner_options": options, "species_block": 1}
    )
    result = evaluate_sdm(obs, COVARIATES, network, truth=truth, device="cpu")
    assert "/8 " in capsys.readouterr().err  # 2 sets x ONE block x (3 folds + all folds)
    assert result.metrics["auc_coords"] > 0.75 and result.metrics["truth_auc_coords"] > 0.85
    assert abs(result.metrics["truth_auc_noise"] - 0.5) < 0.1
