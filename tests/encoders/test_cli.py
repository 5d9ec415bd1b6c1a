"""`geoloc encode-locations` on a grid and on a CSV of points."""

import pandas as pd
import pytest
from click.testing import CliRunner

from geoloc.cli import main
from geoloc.encoders.extent import TrainingExtent
from geoloc.encoders.location_encoder import build_location_encoder, save_location_encoder
from geoloc.params import ModelParams


def _encoder(tmp_path, extent=None):
    enc = build_location_encoder(ModelParams(pe="sh", legendre=4, hidden=16, dim=8), seed=0)
    enc.extent = extent
    path = tmp_path / "encoder.pt"
    save_location_encoder(enc, path)
    return enc, path


def test_grid_to_parquet(tmp_path):
    enc, path = _encoder(tmp_path)
    out = tmp_path / "grid.parquet"
    args = ["encode-locations", "--encoder", str(path), "--grid", "42,51,-5,8", "--step", "1"]
    result = CliRunner().invoke(main, [*args, "--out", str(out)])
    assert result.exit_code == 0, result.output
    frame = pd.read_parquet(out)
    assert len(frame) == 9 * 13 and list(frame.columns[:3]) == ["lat", "lon", "e0"]
    assert frame["lat"].min() == 42.5 and frame["lon"].max() == 7.5
    expected = enc.encode(frame["lat"].to_numpy(), frame["lon"].to_numpy())
    assert abs(frame[[f"e{i}" for i in range(8)]].to_numpy() - expected).max() < 1e-6


def test_points_csv_keeps_columns_and_reports_bad_input(tmp_path):
    _, path = _encoder(tmp_path)
    points = tmp_path / "points.csv"
    pd.DataFrame({"site": ["a", "b"], "y": [48.8, 43.3], "x": [2.3, 5.4]}).to_csv(points)
    out = tmp_path / "emb.csv"
    base = ["encode-locations", "--encoder", str(path), "--points", str(points)]
    ok = CliRunner().invoke(main, [*base, "--lat-col", "y", "--lon-col", "x", "--out", str(out)])
    assert ok.exit_code == 0, ok.output
    frame = pd.read_csv(out)
    assert list(frame["site"]) == ["a", "b"] and "e7" in frame.columns
    bad = CliRunner().invoke(main, [*base, "--out", str(out)])
    assert bad.exit_code == 1 and "no column(s) lat, lon" in bad.output
    swapped = tmp_path / "swapped.csv"
    pd.DataFrame({"lat": [2.3, 120.0], "lon": [48.8, 43.3]}).to_csv(swapped)
    err = CliRunner().invoke(
        main,
        ["encode-locations", "--encoder", str(path), "--points", str(swapped), "--out", str(out)],
    )
    assert err.exit_code == 1 and "(lat, lon)" in err.output and "Traceback" not in err.output


def test_points_outside_the_training_extent_are_warned_about(tmp_path):
    france = TrainingExtent.of_points([43.0, 44.0, 45.0, 46.0, 47.0, 48.0], [0, 1, 2, 3, 4, 5])
    _, path = _encoder(tmp_path, france)
    points = tmp_path / "points.csv"
    pd.DataFrame({"lat": [44.2, 47.5, -33.9], "lon": [1.4, 4.2, 151.2]}).to_csv(points)
    args = ["encode-locations", "--encoder", str(path), "--points", str(points)]
    result = CliRunner().invoke(main, [*args, "--out", str(tmp_path / "e.csv")])
    assert result.exit_code == 0, result.output
    assert "warning: 1 of 3 points lie outside the extent" in result.output
    assert "lat 43.00..48.00, lon 0.00..5.00" in result.output
    assert len(pd.read_csv(tmp_path / "e.csv")) == 3  # still written: a warning, not an error
    inside = tmp_path / "inside.csv"
    pd.DataFrame({"lat": [44.2], "lon": [1.4]}).to_csv(inside)
    args = ["encode-locations", "--encoder", str(path), "--points", str(inside)]
    quiet = CliRunner().invoke(main, [*args, "--out", str(tmp_path / "i.csv")])
    assert quiet.exit_code == 0 and "warning" not in quiet.output


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("", "not a readable CSV"),
        ("lat,lon\n", "no points (the file has a header but no rows)"),
        (
            "lat,lon\n48.8,2.3\nnorth,5.4\n",
            "column lat is not numeric in 1 row(s), e.g. row 2: 'north'",
        ),
        ('lat,lon\n"48,8",2.3\n', "column lat is not numeric"),
    ],
)
def test_empty_or_non_numeric_points_are_user_errors(tmp_path, content, message):
    _, path = _encoder(tmp_path)
    points = tmp_path / "points.csv"
    points.write_text(content)
    args = ["encode-locations", "--encoder", str(path), "--points", str(points)]
    result = CliRunner().invoke(main, [*args, "--out", str(tmp_path / "e.csv")])
    assert result.exit_code == 1 and message in result.output, result.output
    assert "Traceback" not in result.output and not (tmp_path / "e.csv").exists()
