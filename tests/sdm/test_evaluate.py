import json

import numpy as np
import pandas as pd
import pytest
from sklearn.metrics import roc_auc_score

from geoloc.params import Params
from geoloc.sdm.covariates import CovariateCache, coords_features
from geoloc.sdm.evaluate import SdmConfig, auc, evaluate_sdm
from geoloc.sdm.run import OUTPUTS, load_truth, run_sdm
from tests.sdm.sdm_data import noise_features, virtual_world

CONFIG = SdmConfig(
    covariates=["coords", "noise"], background=150, block_km=150, folds=3, bootstrap=200
)
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
    result = evaluate_sdm(obs, COVARIATES, CONFIG, truth=truth, device="cpu")
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
    result = evaluate_sdm(obs, COVARIATES, CONFIG, device="cpu")
    assert not any(key.startswith("truth") for key in result.metrics)
    assert "truth" not in set(result.maps["layer"])


def test_covariates_are_computed_once():
    calls = []

    def features(lat, lon):
        calls.append(len(lat))
        return coords_features(lat, lon)

    cache = CovariateCache(np.array([45.0, 46.0]), np.array([1.0, 2.0]), {"c": features})
    assert cache["c"] is cache["c"]
    assert calls == [2]


def test_run_writes_every_output(tmp_path):
    obs, truth = virtual_world(n_species=3, per_species=60)
    obs.to_parquet(tmp_path / "plants.parquet")
    truth.to_parquet(tmp_path / "truth.parquet")
    params = Params.model_validate(
        {
            "sdm": {
                "covariates": ["coords", "sh"],
                "background": 100,
                "block_km": 150,
                "folds": 3,
                "bootstrap": 100,
            },
            "model": {"legendre": 3},
        }
    )
    metrics = run_sdm(
        "plants",
        observations_path=tmp_path / "plants.parquet",
        encoder_path=None,
        truth_path=tmp_path / "truth.parquet",
        out_dir=tmp_path / "sdm",
        params=params,
    )
    assert {f.name for f in (tmp_path / "sdm").iterdir()} == set(OUTPUTS)
    assert json.loads((tmp_path / "sdm" / "metrics.json").read_text()) == metrics
    assert {"auc_sh", "truth_auc_sh", "delta_coords_sh", "truth_delta_coords_sh"} <= set(metrics)
    table = pd.read_csv(tmp_path / "sdm" / "per_species.csv")
    assert {"auc_coords", "truth_auc_sh", "n_presences", "skipped"} <= set(table.columns)
    assert load_truth(tmp_path / "truth.parquet", "fungi") is None
