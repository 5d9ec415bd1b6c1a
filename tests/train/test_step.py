"""The train step: files in, files out; the DVC stage and `geoloc train` are the same run."""

import importlib.util
import json

import numpy as np
import pytest
import torch
import yaml
from click.testing import CliRunner

from geoloc.cli import main as geoloc_main
from geoloc.embed.store import read_embeddings
from geoloc.encoders import load_location_encoder, outside_training_extent
from geoloc.layout import Layout, TrainPaths
from geoloc.params import parse_params
from geoloc.train import run_train, train_presence_encoder
from geoloc.train.step import file_groups
from geoloc.train.trainer import Trainer
from tests.train.train_fixtures import synthetic_observations, write_store

TINY = {
    "model": {"pe": "sh", "legendre": 6, "hidden": 32, "dim": 16},
    "train": {"epochs": 3, "batch_size": 64, "val_block_km": 100.0},
    "runtime": {"device": "cpu"},
}


def _paths(out, embeddings) -> TrainPaths:
    return TrainPaths(list(embeddings), out / "encoder.pt", out, out / "checkpoints")


def test_run_train_writes_encoder_metrics_and_curves(tmp_path, capsys):
    lat, lon, feat, sp = synthetic_observations(n=300, seed=1)
    store = tmp_path / "plants.h5"
    write_store(store, lat, lon, feat, sp)
    assert len(read_embeddings(store)) == 300
    out = tmp_path / "out"
    metrics = run_train(parse_params(TINY), _paths(out, [store]))
    assert json.loads((out / "metrics.json").read_text()) == metrics
    assert {"val_median_km", "temperature"} <= set(metrics) and metrics["epochs"] == 3
    encoder = load_location_encoder(out / "encoder.pt")
    assert encoder.encode(lat, lon).shape == (300, 16)
    assert not outside_training_extent(encoder, lat, lon).any()  # the extent travels with it
    curve = (out / "live" / "plots" / "metrics" / "loss.tsv").read_text().splitlines()
    assert curve[0].split("\t")[:2] == ["step", "loss"] and len(curve) == 1 + 3
    assert not (out / "checkpoints" / "last.pt").exists()  # finished: nothing to resume
    summary = capsys.readouterr().err.strip().splitlines()[-1]
    assert summary.startswith(f"trained 3 epochs on {metrics['n_train']} records")
    assert f"val_top10 {metrics['val_top10']:.3f}" in summary and str(out / "encoder.pt") in summary


def test_several_files_train_as_one_file_holding_their_rows(tmp_path):
    """Two datasets' files train the same encoder as one file holding both, row for row."""
    lat, lon, feat, sp = synthetic_observations(n=300, seed=2)
    parts = [tmp_path / "a.h5", tmp_path / "b.h5"]
    write_store(parts[0], lat[:120], lon[:120], feat[:120], sp[:120])
    write_store(parts[1], lat[120:], lon[120:], feat[120:], sp[120:])
    write_store(tmp_path / "all.h5", lat, lon, feat, sp)
    params = parse_params(TINY)
    pooled = run_train(params, _paths(tmp_path / "pooled", parts))
    single = run_train(params, _paths(tmp_path / "single", [tmp_path / "all.h5"]))
    assert pooled == single
    encodings = [
        load_location_encoder(tmp_path / name / "encoder.pt").encode(lat, lon)
        for name in ("pooled", "single")
    ]
    np.testing.assert_array_equal(*encodings)


def test_presence_objective_takes_each_file_as_the_target_group_of_its_records(tmp_path, capsys):
    """The pipeline's presence run is the DISDAT door's run with the file index as group."""
    lat, lon, feat, sp = synthetic_observations(n=300, seed=2)
    parts = [tmp_path / "a.h5", tmp_path / "b.h5"]
    write_store(parts[0], lat[:120], lon[:120], feat[:120], sp[:120])
    write_store(parts[1], lat[120:], lon[120:], feat[120:], sp[120:])
    paths = _paths(tmp_path / "out", parts)
    assert file_groups(paths).tolist() == [0] * 120 + [1] * 180
    params = parse_params({**TINY, "train": {**TINY["train"], "objective": "presence"}})
    metrics = run_train(params, paths)
    summary = capsys.readouterr().err.strip().splitlines()[-1]
    assert f"val_loss {metrics['val_loss']:.4g} -> {paths.encoder}" in summary
    assert "presence_loss" in metrics and "val_top10" not in metrics
    door = train_presence_encoder(lat, lon, sp, file_groups(paths), params.model, params.train)
    assert door.metrics == metrics
    np.testing.assert_array_equal(
        load_location_encoder(paths.encoder).encode(lat, lon), door.encoder.encode(lat, lon)
    )


def _run_stage(repo_root, params_file):
    spec = importlib.util.spec_from_file_location("train_stage", repo_root / "stages" / "train.py")
    stage = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(stage)
    result = CliRunner().invoke(stage.main, ["--params", str(params_file)])
    assert result.exit_code == 0, result.output


def _encoder_file(path):
    return torch.load(path, weights_only=True)


def _outputs(encoder, results):
    """Everything a run writes except the checkpoint: encoder payload, metrics, curves."""
    files = sorted(p for p in (results / "live").rglob("*") if p.is_file())
    curves = {str(p.relative_to(results)): p.read_bytes() for p in files}
    return _encoder_file(encoder), (results / "metrics.json").read_bytes(), curves


def test_stage_and_command_write_the_same_outputs(repo_root, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    datasets = {"plants": {"kingdom": "Plantae"}, "fungi": {"kingdom": "Fungi"}}
    layout = Layout()
    lat, lon, feat, sp = synthetic_observations(n=300, seed=3)
    for name, rows in zip(datasets, (slice(0, 140), slice(140, None)), strict=True):
        write_store(layout.embeddings(name), lat[rows], lon[rows], feat[rows], sp[rows])
    stage_params = {**TINY, "data": {"datasets": datasets}}
    (tmp_path / "params.yaml").write_text(yaml.safe_dump(stage_params, sort_keys=False))
    # the command reads other params and gets the stage's through --set and --device
    other = {**stage_params, "train": {**TINY["train"], "epochs": 5}, "runtime": {"device": "auto"}}
    (tmp_path / "other.yaml").write_text(yaml.safe_dump(other, sort_keys=False))

    _run_stage(repo_root, tmp_path / "params.yaml")
    embeddings = [str(layout.embeddings(name)) for name in datasets]
    args = ["train", *embeddings, "--out", "cmd", "--params", "other.yaml"]
    result = CliRunner().invoke(geoloc_main, [*args, "--set", "train.epochs=3", "--device", "cpu"])
    assert result.exit_code == 0, result.output

    stage = _outputs(layout.encoder, layout.train(datasets).results)
    command = _outputs(tmp_path / "cmd" / "encoder.pt", tmp_path / "cmd")
    assert stage[0]["config"] == command[0]["config"]
    for key, tensor in stage[0]["state_dict"].items():
        torch.testing.assert_close(tensor, command[0]["state_dict"][key], rtol=0, atol=0)
    assert stage[1:] == command[1:] and len(stage[2]) > 1
    # finished runs leave no checkpoint: a rerun (`dvc repro -f`) trains afresh
    assert not (tmp_path / ".dvc" / "tmp" / "train" / "last.pt").exists()
    assert not (tmp_path / "cmd" / "checkpoints" / "last.pt").exists()


@pytest.mark.parametrize(
    ("setting", "message"),
    [
        ("model.pe=fourier", "unknown positional encoding 'fourier'"),
        ("model.rff_sigmas=[]", "model.rff_sigmas: List should have at least 1 item"),
        ("model.hidden=10000000", "model.hidden: Input should be less than or equal to 8192"),
        ("model.rff_features=1e9", "model.rff_features: Input should be a valid integer"),
        ("model.rff_features=1000000000", "model.rff_features: Input should be less than or"),
        ("model.dim=true", "model.dim: Input should be a valid integer"),
        ("train.epochs=2.0", "train.epochs: Input should be a valid integer"),
        ("train.min_temperature=0.1", "train.min_temperature (0.1) is above train.temperature"),
    ],
)
def test_command_reports_bad_params_without_a_traceback(tmp_path, setting, message):
    store = tmp_path / "plants.h5"
    write_store(store, *synthetic_observations(n=50))
    args = ["train", str(store), "--out", str(tmp_path / "o"), "--params", str(tmp_path / "x.yaml")]
    result = CliRunner().invoke(geoloc_main, [*args, "--set", setting])
    assert result.exit_code == 1 and message in result.output, result.output
    assert "Traceback" not in result.output and not (tmp_path / "o" / "encoder.pt").exists()


def test_a_model_too_large_to_allocate_is_refused_before_training(tmp_path):
    """Each size is within its bound; together they would be billions of weights."""
    store = tmp_path / "plants.h5"
    write_store(store, *synthetic_observations(n=50))
    args = ["train", str(store), "--out", str(tmp_path / "o"), "--params", str(tmp_path / "x.yaml")]
    sets = ["--set", "model.hidden=8192", "--set", "model.layers=64"]
    result = CliRunner().invoke(geoloc_main, [*args, *sets])
    assert result.exit_code == 1 and "weights, above the 100,000,000" in result.output
    assert "Traceback" not in result.output


def test_command_resumes_an_interrupted_run_only(tmp_path, monkeypatch, caplog):
    """A killed run resumes (by default) to the uninterrupted result; --no-resume retrains;
    a finished run leaves nothing to resume, so running it again trains afresh."""
    store = tmp_path / "plants.h5"
    write_store(store, *synthetic_observations(n=200, seed=4))
    params = tmp_path / "params.yaml"
    params.write_text(yaml.safe_dump(TINY))
    base = ["train", str(store), "--params", str(params)]
    whole = CliRunner().invoke(geoloc_main, [*base, "--out", str(tmp_path / "whole")])
    assert whole.exit_code == 0, whole.output
    expected = (tmp_path / "whole" / "metrics.json").read_bytes()

    save = Trainer.save

    def save_then_die(self, epoch):
        save(self, epoch)
        if epoch == 2:
            raise KeyboardInterrupt

    out = tmp_path / "o"
    cases = [(True, "--resume", True), (True, "--no-resume", False), (False, "--resume", False)]
    for killed_first, flag, resumes in cases:  # the last reruns the run finished just before
        if killed_first:
            with monkeypatch.context() as patched:
                patched.setattr(Trainer, "save", save_then_die)
                killed = CliRunner().invoke(geoloc_main, [*base, "--out", str(out)])
            assert killed.exit_code != 0 and (out / "checkpoints" / "last.pt").is_file()
        caplog.clear()
        with caplog.at_level("INFO", logger="geoloc.train.trainer"):
            again = CliRunner().invoke(geoloc_main, [*base, "--out", str(out), flag])
        assert again.exit_code == 0, again.output
        assert ("resumed from" in caplog.text) == resumes
        assert (out / "metrics.json").read_bytes() == expected
        assert not (out / "checkpoints" / "last.pt").exists()
