"""`geoloc identify` on image files with a trained identifier: the CSV contract, "?" rows, the
errors CSV, EXIF GPS."""

from __future__ import annotations

import math
import shutil

import pandas as pd
import pytest
import torch
from click.testing import CliRunner
from PIL import Image

import geoloc.identify
from geoloc.cli import main
from geoloc.identify import METHODS, Thresholds, load_identifier
from tests.identify.identify_data import FakeBackbone


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


def test_identify_warns_when_the_prior_is_asked_outside_its_training_extent(trained, monkeypatch):
    tmp_path, table = trained
    from geoloc.encoders import load_location_encoder, save_location_encoder
    from geoloc.encoders.extent import TrainingExtent

    model_dir = tmp_path / "extent_model"
    shutil.copytree(tmp_path / "model", model_dir)
    encoder = load_location_encoder(model_dir / "encoder.pt")
    encoder.extent = TrainingExtent.of_points(table.lat, table.lon)
    save_location_encoder(encoder, model_dir / "encoder.pt")
    images = tmp_path / "extent_images"
    images.mkdir()
    Image.new("RGB", (8, 8), (1, 0, 0)).save(images / "a.png")
    monkeypatch.setattr(geoloc.identify, "load_backbone", lambda *a, **k: FakeBackbone(table))
    lat, lon = (str(v) for v in (table.lat[0], table.lon[0]))
    for where, warned in (((lat, lon), False), ((lon, lat), True), (("-34.6", "-58.4"), True)):
        result = CliRunner().invoke(
            main,
            ["identify", str(images), "--model", str(model_dir), "--out",
             str(tmp_path / "extent.csv"), "--lat", where[0], "--lon", where[1]],
        )  # fmt: skip
        assert result.exit_code == 0, result.output
        assert ("1 of 1 points lie outside the extent" in result.output) is warned, where


def test_identify_cli_user_errors(trained, tmp_path):
    model_dir = trained[0] / "model"
    runner = CliRunner()
    result = runner.invoke(main, ["identify", str(tmp_path), "--model", str(model_dir),
                                  "--out", str(tmp_path / "o.csv"), "--lat", "45"])  # fmt: skip
    assert result.exit_code == 1 and "--lat and --lon" in result.output
    result = runner.invoke(main, ["identify", str(tmp_path), "--model", str(tmp_path),
                                  "--out", str(tmp_path / "o.csv")])  # fmt: skip
    assert result.exit_code == 1 and "no identification model" in result.output


@pytest.mark.parametrize("damage", ["truncated", "foreign", "incomplete", "encoder"])
def test_identify_with_a_damaged_model_is_one_clear_error(trained, tmp_path, damage):
    model_dir = tmp_path / "model"
    shutil.copytree(trained[0] / "model", model_dir)
    model_pt, meta = model_dir / "model.pt", model_dir / "meta.json"
    if damage == "truncated":  # an interrupted copy: both files cut short
        model_pt.write_bytes(model_pt.read_bytes()[:1000])
        meta.write_text(meta.read_text()[:20])
    elif damage == "foreign":  # another torch file under the model's name
        shutil.copyfile(model_dir / "encoder.pt", model_pt)
    elif damage == "incomplete":  # the right format, a part missing
        state = torch.load(model_pt, weights_only=True)
        del state["prototypes"]
        torch.save(state, model_pt)
    else:  # the encoder copy beside the model is cut short
        encoder = model_dir / "encoder.pt"
        encoder.write_bytes(encoder.read_bytes()[:500])
    (tmp_path / "images").mkdir()
    Image.new("RGB", (8, 8), (1, 0, 0)).save(tmp_path / "images" / "a.png")
    args = ["identify", str(tmp_path / "images"), "--model", str(model_dir), "--out", str(tmp_path / "o.csv")]  # fmt: skip
    result = CliRunner().invoke(main, args)
    assert (
        result.exit_code == 1
        and result.exception is None
        or isinstance(result.exception, SystemExit)
    )
    assert result.output.startswith("Error: ") and result.output.count("\n") == 1, result.output
    assert "Traceback" not in result.output
    expected = {"truncated": "cannot be read as a torch file", "foreign": "is not a geoloc identification model",
                "incomplete": "incomplete or damaged identification model", "encoder": "encoder.pt"}  # fmt: skip
    assert expected[damage] in result.output
    assert not (tmp_path / "o.csv").exists()
