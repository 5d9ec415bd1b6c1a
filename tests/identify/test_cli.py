"""End to end on synthetic embeddings: train-identifier (HDF5 + Parquet + encoder in, model and
metrics out; the stage and the command on the same layout), then `geoloc identify` on image
files: the CSV contract, "?" rows, errors CSV."""

from __future__ import annotations

import importlib.util
import json
import math
import shutil

import h5py
import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner
from PIL import Image

import geoloc.identify
from geoloc.cli import main
from geoloc.encoders.location_encoder import build_location_encoder, save_location_encoder
from geoloc.identify import METHODS, Thresholds, load_identifier
from geoloc.layout import Layout
from geoloc.params import ModelParams
from tests.identify.identify_data import make_dataset

DIM = 16
PARAMS = """
identify:
  heads: [linear]
  remedies: [none, logit_adjust]
  hidden: 32
  epochs: 8
  lr: 0.01
  proto_epochs: 4
  target_coverage: 0.8
  prior: {epochs: 4}
"""


def _write_inputs(paths, params_file, text: bool):
    """The synthetic dataset at `paths` (IdentifierPaths): embeddings, taxonomy, encoder."""
    table, taxonomy = make_dataset(dim=DIM, text=text)
    paths.embeddings.parent.mkdir(parents=True, exist_ok=True)
    with h5py.File(paths.embeddings, "w") as h5:
        for key in ("gbif_id", "lat", "lon", "species_key"):
            h5[key] = getattr(table, key)
        h5["embedding"] = table.embedding.astype(np.float16)
        h5.attrs.update(backbone="fake-backbone", image_size=32, dim=DIM)
        if text:
            h5["text/species_key"] = table.text.species_key
            h5["text/species"] = table.text.species.astype(object)
            h5["text/embedding"] = table.text.embedding.astype(np.float16)
    paths.observations.parent.mkdir(parents=True, exist_ok=True)
    taxonomy.to_parquet(paths.observations)
    paths.encoder.parent.mkdir(parents=True, exist_ok=True)
    network = build_location_encoder(ModelParams(dim=16, hidden=32), seed=0)
    save_location_encoder(network, paths.encoder)
    params_file.write_text(PARAMS)
    return table


class FakeBackbone:
    """Maps an image to the synthetic embedding of the species its red channel encodes."""

    def __init__(self, table):
        self.centres = np.stack(
            [table.embedding[table.species_key == k].mean(0) for k in np.unique(table.species_key)]
        )

    def embed_pil(self, images, batch_size=64):
        v = self.centres[[im.getpixel((0, 0))[0] for im in images]]
        return (v / np.linalg.norm(v, axis=1, keepdims=True)).astype(np.float32)


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    tmp_path = tmp_path_factory.mktemp("identify")
    inputs = Layout(tmp_path).identifier("plants")
    table = _write_inputs(inputs, tmp_path / "params.yaml", text=True)
    result = CliRunner().invoke(
        main,
        [
            "train-identifier",
            "--embeddings", str(inputs.embeddings),
            "--observations", str(inputs.observations),
            "--encoder", str(inputs.encoder),
            "--model-dir", str(tmp_path / "model"),
            "--results", str(tmp_path / "results"),
            "--params", str(tmp_path / "params.yaml"),
        ],
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    assert "hybrid_accuracy: " in result.output and "prior_top1_gain: " in result.output
    return tmp_path, table


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
    _write_inputs(Layout(by_stage).identifier("plants"), by_stage / "params.yaml", text=False)
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
    _write_inputs(Layout(tmp_path).identifier("plants"), tmp_path / "params.yaml", text=False)
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
    _write_inputs(paths, tmp_path / "params.yaml", text=False)
    paths.encoder.unlink()
    result = runner.invoke(main, ["train-identifier", "--dataset", "plants"])
    assert result.exit_code == 1 and "location encoder not found" in result.output
    assert "Traceback" not in result.output


def _identify(images, model_dir, out, *extra):
    result = CliRunner().invoke(
        main, ["identify", str(images), "--model", str(model_dir), "--out", str(out), *extra]
    )
    assert result.exit_code == 0, result.output
    return pd.read_csv(out, keep_default_na=False)


def test_identify_cli_csv_contract(trained, monkeypatch):
    tmp_path, table = trained
    images = tmp_path / "images"
    images.mkdir()
    for s in range(8):
        Image.new("RGB", (8, 8), (s, 0, 0)).save(images / f"sp{s}.png")
    (images / "broken.jpg").write_bytes(b"not a jpeg at all")
    monkeypatch.setattr(geoloc.identify, "load_backbone", lambda *a, **k: FakeBackbone(table))
    rows = _identify(
        images, tmp_path / "model", tmp_path / "out.csv", "--lat", "46.5", "--lon", "2.5"
    )
    assert list(rows.columns)[:4] == ["image", "species_pred", "confidence", "method"]
    for col in ("classifier_top3", "prototype_top3", "prior_top3"):
        assert rows[col].str.count(":").eq(3).all()
    assert list(rows["image"]) == [f"sp{s}.png" for s in range(8)]
    assert set(rows["method"]) <= set(METHODS) and (rows["location_source"] == "given").all()
    assert (rows["species_pred"] == [f"Genus species{s}" for s in range(8)]).sum() >= 6
    errors = pd.read_csv(tmp_path / "out.errors.csv")
    assert list(errors.columns) == ["image", "reason"] and list(errors["image"]) == ["broken.jpg"]

    # a model whose thresholds nothing reaches answers "?" for every image, without a prior too
    model = load_identifier(tmp_path / "model")
    never = Thresholds(math.inf, math.inf, math.inf)
    model.thresholds, model.thresholds_prior = never, never
    model.save(tmp_path / "strict", tmp_path / "model" / "encoder.pt")
    rows = _identify(images, tmp_path / "strict", tmp_path / "strict.csv")
    assert (rows["species_pred"] == "?").all() and (rows["method"] == "rejected").all()
    assert (rows["prior_top3"] == "").all() and (rows["location_source"] == "").all()


def test_identify_reads_exif_gps(trained, monkeypatch):
    tmp_path, table = trained
    images = tmp_path / "exif"
    images.mkdir()
    exif = Image.Exif()
    exif[0x8825] = {1: "N", 2: (48.0, 51.0, 36.0), 3: "W", 4: (2.0, 30.0, 0.0)}
    Image.new("RGB", (8, 8), (2, 0, 0)).save(images / "gps.png", exif=exif)
    Image.new("RGB", (8, 8), (2, 0, 0)).save(images / "nogps.png")
    monkeypatch.setattr(geoloc.identify, "load_backbone", lambda *a, **k: FakeBackbone(table))
    rows = _identify(images, tmp_path / "model", tmp_path / "exif.csv").set_index("image")
    assert rows.loc["gps.png", "location_source"] == "exif"
    assert float(rows.loc["gps.png", "lat"]) == pytest.approx(48.86)
    assert float(rows.loc["gps.png", "lon"]) == pytest.approx(-2.5)
    assert rows.loc["gps.png", "prior_top3"] and not rows.loc["nogps.png", "prior_top3"]


def test_identify_cli_user_errors(trained, tmp_path):
    model_dir = trained[0] / "model"
    runner = CliRunner()
    result = runner.invoke(main, ["identify", str(tmp_path), "--model", str(model_dir),
                                  "--out", str(tmp_path / "o.csv"), "--lat", "45"])  # fmt: skip
    assert result.exit_code == 1 and "--lat and --lon" in result.output
    result = runner.invoke(main, ["identify", str(tmp_path), "--model", str(tmp_path),
                                  "--out", str(tmp_path / "o.csv")])  # fmt: skip
    assert result.exit_code == 1 and "no identification model" in result.output


def test_report_section_shows_heatmap_and_curve(trained, tmp_path):
    from geoloc.params import Params
    from geoloc.report.identify_section import identify_section

    params = Params()
    assert identify_section(tmp_path, params) is None
    target = tmp_path / "plants" / "identify"
    shutil.copytree(trained[0] / "results", target)
    page = identify_section(tmp_path, params)
    assert 'id="identify"' in page and "plants" in page
    assert '"type":"heatmap"' in page and "operating point" in page and "Location prior" in page
