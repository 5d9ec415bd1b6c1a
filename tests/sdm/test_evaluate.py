import numpy as np
import pytest
from sklearn.metrics import roc_auc_score

from geoloc.params import SdmParams
from geoloc.sdm import auc, coords_features, evaluate_sdm
from tests.sdm.sdm_data import noise_features, virtual_world

SDM = SdmParams(background=150, block_km=150, folds=3, bootstrap=200)
COVARIATES = {"coords": coords_features, "noise": noise_features}


def test_auc_agrees_with_sklearn_and_the_rank_definition():
    rng = np.random.default_rng(0)
    labels = rng.random(300) < 0.3
    scores = np.round(rng.normal(size=300) + labels, 1)  # ties included
    pos, neg = scores[labels], scores[~labels]
    pairs = (pos[:, None] > neg[None, :]).mean() + 0.5 * (pos[:, None] == neg[None, :]).mean()
    assert auc(labels, scores) == pytest.approx(roc_auc_score(labels, scores))
    assert auc(labels, scores) == pytest.approx(pairs)
    assert np.isnan(auc(np.ones(5), np.arange(5)))


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
