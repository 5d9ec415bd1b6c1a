"""The train-identifier step on synthetic embeddings (HDF5 + Parquet + encoder in, model and
metrics out): the DVC stage and `geoloc train-identifier` write the same files; options, errors."""

from __future__ import annotations

import importlib.util
import json
import shutil

import numpy as np
from click.testing import CliRunner

from geoloc.cli import main
from geoloc.identify import load_identifier
from geoloc.layout import Layout
from tests.identify.identify_data import DIM, make_dataset, write_inputs


def test_train_identifier_writes_model_and_metrics(trained):
    tmp_path, _ = trained
    metrics = json.loads((tmp_path / "results" / "metrics.json").read_text())
    for key in ("family_top1", "family_top5", "family_macro_f1", "hybrid_accuracy",
                "hybrid_accuracy_common", "hybrid_accuracy_rare", "hybrid_coverage",
                "prior_top1_gain", "prior_top1_rare_gain", "proto_uses_text"):  # fmt: skip
        assert key in metrics, key
    assert metrics["proto_uses_text"] == 1 and metrics["n_rare"] == 4
    assert abs(metrics["hybrid_coverage_val"] - 0.8) < 0.03
    report = json.loads((tmp_path / "results" / "report.json").read_text())
    assert report["rank_classifier"]["test"]["confusion"] and report["hybrid"]["curve"]
    assert {r["remedy"] for r in report["rank_classifier"]["runs"]} == {"none", "logit_adjust"}
    model = load_identifier(tmp_path / "model")
    assert model.prior is not None and model.thresholds_prior is not None
    assert (tmp_path / "results" / "per_class.csv").is_file()


def _stage_main(repo_root):
    path = repo_root / "stages" / "train_identifier.py"
    spec = importlib.util.spec_from_file_location("train_identifier_stage", path)
    stage = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(stage)
    return stage.main


OUTPUTS = (
    "results/identifier/plants/metrics.json",
    "results/identifier/plants/report.json",
    "results/identifier/plants/per_class.csv",
    "models/identifier/plants/meta.json",
    "models/identifier/plants/encoder.pt",
)


def test_stage_and_command_write_the_same_outputs(tmp_path, monkeypatch, repo_root):
    by_stage, by_command = tmp_path / "stage", tmp_path / "command"
    write_inputs(Layout(by_stage).identifier("plants"), by_stage / "params.yaml", text=False)
    shutil.copytree(by_stage, by_command)
    monkeypatch.chdir(by_stage)
    result = CliRunner().invoke(_stage_main(repo_root), ["--dataset", "plants"])
    assert result.exit_code == 0, result.output
    monkeypatch.chdir(by_command)
    result = CliRunner().invoke(main, ["train-identifier", "--dataset", "plants"])
    assert result.exit_code == 0, result.output
    for rel in OUTPUTS:
        assert (by_stage / rel).read_bytes() == (by_command / rel).read_bytes(), rel
    X = make_dataset(dim=DIM)[0].embedding
    models = [load_identifier(root / "models/identifier/plants") for root in (by_stage, by_command)]
    lat, lon = np.full(len(X), 46.0), np.full(len(X), 2.0)
    for left, right in zip(*(m.components(X, lat, lon).values() for m in models), strict=True):
        np.testing.assert_array_equal(left, right)


def test_train_identifier_set_and_path_options(tmp_path, monkeypatch):
    write_inputs(Layout(tmp_path).identifier("plants"), tmp_path / "params.yaml", text=False)
    monkeypatch.chdir(tmp_path)
    args = ["train-identifier", "--dataset", "plants", "--results", "elsewhere"]
    result = CliRunner().invoke(main, [*args, "--set", "identify.prior.enabled=false"])
    assert result.exit_code == 0, result.output
    metrics = json.loads((tmp_path / "elsewhere" / "metrics.json").read_text())
    assert "hybrid_accuracy" in metrics and "prior_top1_gain" not in metrics
    assert not (tmp_path / "results").exists()
    assert load_identifier(tmp_path / "models/identifier/plants").prior is None


def test_train_identifier_user_errors(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    runner = CliRunner()
    result = runner.invoke(main, ["train-identifier", "--embeddings", "e.h5"])
    assert (
        result.exit_code == 1 and "give --dataset or --observations, --model-dir" in result.output
    )
    result = runner.invoke(main, ["train-identifier", "--dataset", "birds"])
    assert result.exit_code == 1 and "unknown dataset 'birds'" in result.output
    paths = Layout(tmp_path).identifier("plants")
    write_inputs(paths, tmp_path / "params.yaml", text=False)
    paths.encoder.unlink()
    result = runner.invoke(main, ["train-identifier", "--dataset", "plants"])
    assert result.exit_code == 1 and "location encoder not found" in result.output
    assert "Traceback" not in result.output


def test_report_section_shows_heatmap_and_curve(trained, tmp_path):
    from geoloc.layout import Layout
    from geoloc.params import Params
    from geoloc.report.identify_section import identify_section

    params = Params()
    paths = Layout(tmp_path).report()
    assert identify_section(paths, params) is None
    shutil.copytree(trained[0] / "results", paths.identifier / "plants")
    page = identify_section(paths, params)
    assert 'id="identify"' in page and "plants" in page
    assert '"type":"heatmap"' in page and "operating point" in page and "Location prior" in page
