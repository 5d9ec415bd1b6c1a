"""The evaluate step on a tiny pipeline layout: the DVC stage and `geoloc evaluate` write the same
files, byte for byte, from the same inputs and params."""

import importlib.util
import json
import shutil

import pandas as pd
import pytest
import yaml
from click.testing import CliRunner

from geoloc.cli import main
from geoloc.encoders.location_encoder import build_location_encoder, save_location_encoder
from geoloc.errors import GeolocError
from geoloc.layout import Layout
from geoloc.params import parse_params
from geoloc.sdm import OUTPUTS, load_truth, run_evaluate
from tests.sdm.sdm_data import virtual_world

PARAMS = {
    "model": {"pe": "sh", "legendre": 3, "hidden": 16, "layers": 1, "dim": 8},
    "sdm": {
        "covariates": ["trained", "coords", "sh"],
        "background": 100,
        "block_km": 150,
        "folds": 3,
        "bootstrap": 100,
        "map_species": 1,
    },
    "runtime": {"device": "cpu"},
}


def _write_layout(root):
    """Filtered table, demo truth, a small encoder and params.yaml where the pipeline has them."""
    obs, truth = virtual_world(n_species=3, per_species=60)
    layout = Layout(root)
    paths = layout.evaluate("plants", "data/raw/demo.zip")
    for path in (paths.observations, paths.truth, paths.encoder):
        path.parent.mkdir(parents=True, exist_ok=True)
    obs.to_parquet(paths.observations)
    truth.to_parquet(paths.truth)
    params = parse_params(PARAMS)
    save_location_encoder(build_location_encoder(params.model, seed=1), paths.encoder)
    (root / "params.yaml").write_text(yaml.safe_dump(PARAMS))
    return params


def _stage_main(repo_root):
    spec = importlib.util.spec_from_file_location(
        "evaluate_stage", repo_root / "stages/evaluate.py"
    )
    stage = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(stage)
    return stage.main


def test_stage_and_command_write_the_same_outputs(tmp_path, monkeypatch, repo_root):
    by_stage, by_command = tmp_path / "stage", tmp_path / "command"
    _write_layout(by_stage)
    shutil.copytree(by_stage, by_command)
    monkeypatch.chdir(by_stage)
    result = CliRunner().invoke(_stage_main(repo_root), ["--dataset", "plants"])
    assert result.exit_code == 0, result.output
    monkeypatch.chdir(by_command)
    result = CliRunner().invoke(main, ["evaluate", "--dataset", "plants"])
    assert result.exit_code == 0, result.output
    out = "results/evaluate/plants"
    for name in OUTPUTS:
        assert (by_stage / out / name).read_bytes() == (by_command / out / name).read_bytes(), name
    metrics = json.loads((by_stage / out / "metrics.json").read_text())
    assert {"auc_trained", "truth_auc_sh", "delta_trained_coords"} <= set(metrics)
    assert len(pd.read_parquet(by_stage / out / "embedding_grid.parquet")) > 0


def test_command_options_replace_paths_and_set_changes_params(tmp_path, monkeypatch):
    _write_layout(tmp_path)
    monkeypatch.chdir(tmp_path)
    args = ["evaluate", "--dataset", "plants", "--out", "elsewhere"]
    result = CliRunner().invoke(main, [*args, "--set", "sdm.covariates=[coords]"])
    assert result.exit_code == 0, result.output
    assert {p.name for p in (tmp_path / "elsewhere").iterdir()} == set(OUTPUTS)
    metrics = json.loads((tmp_path / "elsewhere" / "metrics.json").read_text())
    assert "auc_coords" in metrics and "auc_trained" not in metrics
    result = CliRunner().invoke(main, [*args, "--observations", "nope.parquet"])
    assert result.exit_code == 1 and "filtered table not found: nope.parquet" in result.output
    result = CliRunner().invoke(main, [*args, "--set", "sdm.covariates=[coords, nope]"])
    assert result.exit_code == 1 and "unknown covariate set 'nope'" in result.output


def test_without_truth_nothing_is_scored_against_it(tmp_path):
    params = _write_layout(tmp_path)
    paths = Layout(tmp_path).evaluate("plants", "data/raw/gbif.zip")
    assert paths.truth is None
    metrics = run_evaluate(params, paths)
    assert not any(key.startswith("truth") for key in metrics)
    assert json.loads((paths.out_dir / "metrics.json").read_text()) == metrics


def test_truth_rows_are_those_of_the_observed_species(tmp_path):
    _, truth = virtual_world(n_species=2)
    truth.to_parquet(tmp_path / "truth.parquet")
    assert set(load_truth(tmp_path / "truth.parquet", [1001, 5])["species_key"]) == {1001}
    assert load_truth(tmp_path / "truth.parquet", [5]) is None
    assert load_truth(None, [1001]) is None
    truth.drop(columns="present").to_parquet(tmp_path / "bad.parquet")
    with pytest.raises(GeolocError, match="not a truth table, lacks present"):
        load_truth(tmp_path / "bad.parquet", [1001])
