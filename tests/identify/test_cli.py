"""End to end on synthetic embeddings: identify-train (HDF5 + Parquet + encoder in, model and
metrics out), then `geoloc identify` on image files: the CSV contract, "?" rows, errors CSV."""

from __future__ import annotations

import json
import math
import shutil

import h5py
import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner
from PIL import Image

from geoloc.cli import main
from geoloc.encoders.location_encoder import build_location_encoder, save_location_encoder
from geoloc.identify import inference
from geoloc.identify.hybrid import METHODS, Thresholds
from geoloc.identify.model import load_identifier
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


def _write_inputs(tmp_path, text: bool):
    table, taxonomy = make_dataset(dim=DIM, text=text)
    h5_path = tmp_path / "emb.h5"
    with h5py.File(h5_path, "w") as h5:
        for key in ("gbif_id", "lat", "lon", "species_key"):
            h5[key] = getattr(table, key)
        h5["embedding"] = table.embedding.astype(np.float16)
        h5.attrs.update(backbone="fake-backbone", image_size=32, dim=DIM)
        if text:
            h5["text/species_key"] = table.text.species_key
            h5["text/species"] = table.text.species.astype(object)
            h5["text/embedding"] = table.text.embedding.astype(np.float16)
    parquet = tmp_path / "filtered.parquet"
    taxonomy.to_parquet(parquet)
    encoder = tmp_path / "encoder.pt"
    save_location_encoder(build_location_encoder(ModelParams(dim=16, hidden=32), seed=0), encoder)
    (tmp_path / "params.yaml").write_text(PARAMS)
    return table, h5_path, parquet, encoder


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
    table, h5_path, parquet, encoder = _write_inputs(tmp_path, text=True)
    result = CliRunner().invoke(
        main,
        [
            "identify-train",
            "--embeddings",
            str(h5_path),
            "--filtered",
            str(parquet),
            "--encoder",
            str(encoder),
            "--model-dir",
            str(tmp_path / "model"),
            "--results-dir",
            str(tmp_path / "results"),
            "--params",
            str(tmp_path / "params.yaml"),
        ],  # fmt: skip
    )
    assert result.exit_code == 0, result.output
    return tmp_path, table


def test_identify_train_writes_model_and_metrics(trained):
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
    monkeypatch.setattr(inference, "load_backbone", lambda *a, **k: FakeBackbone(table))
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
    monkeypatch.setattr(inference, "load_backbone", lambda *a, **k: FakeBackbone(table))
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
