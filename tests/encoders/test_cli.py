"""`geoloc encode-locations` on a grid and on a CSV of points."""

import pandas as pd
from click.testing import CliRunner

from geoloc.cli import main
from geoloc.encoders.location_encoder import build_location_encoder, save_location_encoder
from geoloc.params import ModelParams


def _encoder(tmp_path):
    enc = build_location_encoder(ModelParams(pe="sh", legendre=4, hidden=16, dim=8), seed=0)
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
