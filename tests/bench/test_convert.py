"""The conversion of the disdat package's .rds files, on a tiny pair of regions written here."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

from geoloc.bench.disdat import load_region, region_names
from geoloc.bench.disdat.convert import convert_disdat, rds_regions
from geoloc.cli import main
from geoloc.errors import GeolocError

pyreadr = pytest.importorskip("pyreadr")
pytest.importorskip("pyproj")


def _points(rng, n, x0, y0, spread):
    return pd.DataFrame(
        {
            "siteid": [f"p{i}" for i in range(n)],
            "x": x0 + rng.uniform(-spread, spread, n),
            "y": y0 + rng.uniform(-spread, spread, n),
        }
    )


def _env(frame, rng):
    return frame.assign(
        temp=rng.normal(20, 3, len(frame)),
        vegsys=pd.Categorical(rng.choice(["1", "2", "7"], len(frame))),
    )


def _write_region(root, name, groups, x0, y0, spread, rng):
    """The package's layout: train_po / train_bg, then test env + pa per group (or one set)."""
    records = []
    for group, species in groups.items():
        for sp in species:
            part = _points(rng, 30, x0, y0, spread).assign(spid=sp, occ=1, group=group)
            records.append(part[["spid", "siteid", "x", "y", "occ", "group"]])
    po = _env(pd.concat(records, ignore_index=True), rng)
    bg = _env(_points(rng, 50, x0, y0, spread).assign(spid="bg", occ=0, group=None), rng)
    bg = bg[po.columns]
    pyreadr.write_rds(str(root / f"{name}train_po.rds"), po)
    pyreadr.write_rds(str(root / f"{name}train_bg.rds"), bg)
    for group, species in groups.items():
        suffix = f"_{group}" if len(groups) > 1 else ""
        sites = _points(rng, 12, x0, y0, spread)
        sites["siteid"] = [f"{group}{i}" for i in range(len(sites))]
        env = _env(sites.assign(group=group), rng)[["group", "siteid", "x", "y", "temp", "vegsys"]]
        pa = sites.assign(**{sp: rng.integers(0, 2, len(sites)).astype(float) for sp in species})
        pyreadr.write_rds(str(root / f"{name}test_env{suffix}.rds"), env)
        pyreadr.write_rds(str(root / f"{name}test_pa{suffix}.rds"), pa)


@pytest.fixture(scope="module")
def converted(tmp_path_factory):
    rng = np.random.default_rng(0)
    rds = tmp_path_factory.mktemp("extdata")
    # AWT: UTM zone 55S metres around the zone's central meridian (147 E); two survey groups
    _write_region(
        rds,
        "AWT",
        {"bird": ["awt01", "awt02"], "plant": ["awt21", "awt22"]},
        500000.0,
        8000000.0,
        20000.0,
        rng,
    )
    # CAN: lon/lat on the Clarke 1866 ellipsoid; one survey set
    _write_region(rds, "CAN", {"bird": ["can01", "can02"]}, -80.0, 45.0, 1.0, rng)
    out = tmp_path_factory.mktemp("disdat")
    meta = convert_disdat(rds, out, source={"repository": "rspatial/disdat"})
    return rds, out, meta


def test_regions_tables_and_metadata_are_what_the_benchmark_reads(converted):
    rds, out, meta = converted
    assert rds_regions(rds) == region_names(out) == ["AWT", "CAN"]
    on_disk = json.loads((out / "metadata.json").read_text())
    assert on_disk["source"] == {"repository": "rspatial/disdat"}
    awt = load_region(out / "AWT")
    assert awt.groups == {"bird": ["awt01", "awt02"], "plant": ["awt21", "awt22"]}
    assert awt.env_columns == ["temp", "vegsys"] and awt.categorical_columns == ["vegsys"]
    assert set(awt.po["vegsys"]) <= {1, 2, 7}  # the factor's labels, as numbers
    assert len(awt.po) == 4 * 30 and len(awt.bg) == 50 and len(awt.pa) == 2 * 12
    can = load_region(out / "CAN")
    assert can.groups == {"bird": ["can01", "can02"]} and set(can.pa["group"]) == {"bird"}
    assert meta["regions"]["CAN"]["rows"] == {"train_po": 60, "train_bg": 50, "test_pa": 12}


def test_a_species_is_null_at_the_sites_of_other_groups(converted):
    _, out, _ = converted
    awt = load_region(out / "AWT")
    birds = (awt.pa["group"] == "bird").to_numpy()
    assert awt.pa.loc[~birds, "awt01"].isna().all() and awt.pa.loc[birds, "awt01"].notna().all()
    assert str(awt.pa["awt01"].dtype) == "Int8"
    mask, labels = awt.test_labels("awt21")
    assert mask.sum() == 12 and set(labels) <= {0, 1}


def test_coordinates_are_reprojected_to_wgs84_lon_lat(converted):
    rds, out, _ = converted
    po = pd.read_parquet(out / "AWT" / "train_po.parquet")
    source = pyreadr.read_r(str(rds / "AWTtrain_po.rds"))[None]
    np.testing.assert_allclose(po["x"], source["x"])
    # UTM 55S: x 500 km is the central meridian, 147 E; y 8000 km north of the false origin
    # lies near 18 S
    central = np.abs(po["x"] - 500000) < 2000
    assert np.allclose(po.loc[central, "lon"], 147.0, atol=0.02)
    assert po["lat"].between(-18.3, -17.8).all() and po["lon"].between(146.7, 147.3).all()
    can = pd.read_parquet(out / "CAN" / "train_bg.parquet")
    np.testing.assert_allclose(can["lon"], can["x"], atol=1e-3)  # lon/lat to lon/lat: ~same


def test_cli_and_errors(converted, tmp_path):
    rds, _, _ = converted
    runner = CliRunner()
    args = ["bench", "disdat-convert", "--rds", str(rds), "--out", str(tmp_path / "o")]
    result = runner.invoke(main, [*args, "--regions", "CAN"])
    assert result.exit_code == 0, result.output
    assert region_names(tmp_path / "o") == ["CAN"] and "CAN" in result.output
    bad = runner.invoke(main, [*args, "--regions", "SA"])
    assert bad.exit_code == 1 and "region(s) SA not in" in bad.output
    with pytest.raises(GeolocError, match="no <REGION>train_po.rds"):
        rds_regions(tmp_path)
