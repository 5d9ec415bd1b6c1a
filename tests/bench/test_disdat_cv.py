"""`geoloc bench disdat --cv K`: spatial-block cross-validation on the training records, the
procedure that chooses the benchmark's configuration without its survey sites."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

from geoloc.bench.disdat import Region, load_region, run_benchmark
from geoloc.bench.disdat.cv import CV_CELLS, fold_region, record_folds
from geoloc.cli import main
from geoloc.errors import GeolocError
from geoloc.geometry import block_ids, sinusoidal_km
from tests.bench.test_disdat import build_region


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory):
    root = tmp_path_factory.mktemp("disdat_cv")
    build_region(root)
    return root


def _tiny_region() -> Region:
    """Two groups; records a, b share one bird site, c is a plant record at that same place."""
    po = pd.DataFrame(
        {
            "spid": ["a", "b", "c", "a", "b", "c", "d", "d"],
            "lat": [0.0, 0.0, 0.0, 1.0, 2.0, 3.0, 4.0, 5.0],
            "lon": [0.0, 0.0, 0.0, 1.0, 2.0, 3.0, 4.0, 5.0],
            "temp": [1.0, 1.0, 1.0, 2.0, 3.0, 4.0, 5.0, 6.0],
        }
    )
    return Region(
        "T", po, po.iloc[:0], po.iloc[:0], ["temp"], [], {"bird": ["a", "b"], "plant": ["c", "d"]}
    )


def test_held_out_record_sites_are_presences_of_their_species_and_absences_of_its_group():
    region = _tiny_region()
    held = np.array([True, True, True, False, True, False, False, True])
    fold = fold_region(region, held)
    assert fold.po["spid"].tolist() == ["a", "c", "d"]  # the records outside the fold train
    assert fold.groups == {"bird": ["a"], "plant": ["c", "d"]}  # b has no training record
    pa = fold.pa.set_index(["group", "lat"])
    # one row per (group, site): the bird site at 0 holds a and b, the plant site at 0 holds c
    assert sorted(pa.index) == [("bird", 0.0), ("bird", 2.0), ("plant", 0.0), ("plant", 5.0)]
    assert pa.loc["bird", "a"].tolist() == [1.0, 0.0]
    assert pa.loc["plant", "a"].isna().all() and pa.loc["bird", "c"].isna().all()
    assert pa.loc["plant", "c"].tolist() == [1.0, 0.0] and pa.loc["plant", "d"].tolist() == [0, 1]
    mask, labels = fold.test_labels("a")
    assert mask.sum() == 2 and labels.tolist() == [1, 0]


def test_folds_hold_whole_spatial_blocks_and_every_record_once(data_dir):
    region = load_region(data_dir / "TST")
    folds = record_folds(region, 4, seed=0)
    assert sorted(set(folds)) == [0, 1, 2, 3] and len(folds) == len(region.po)
    x, y = sinusoidal_km(region.po["lat"], region.po["lon"])
    blocks = block_ids(region.po["lat"], region.po["lon"], max(np.ptp(x), np.ptp(y)) / CV_CELLS)
    assert (pd.Series(folds).groupby(blocks).nunique() == 1).all()
    assert np.array_equal(folds, record_folds(region, 4, seed=0))
    assert not np.array_equal(folds, record_folds(region, 4, seed=1))


def test_too_few_blocks_or_folds_is_a_user_error(data_dir, tmp_path):
    region = _tiny_region()
    region.po[["lat", "lon"]] = 0.0  # every record in one block
    with pytest.raises(GeolocError, match="fewer than 3 spatial blocks"):
        record_folds(region, 3, seed=0)
    with pytest.raises(GeolocError, match="at least 2 folds"):
        run_benchmark(data_dir, tmp_path / "out", learners=["logistic"], cv_folds=1)


def test_cross_validation_scores_every_species_without_the_survey_sites(data_dir, tmp_path):
    run = run_benchmark(
        data_dir,
        tmp_path / "cv",
        learners=["logistic"],
        backgrounds=["target_group"],
        cv_folds=3,
    )
    rows = run.per_species.set_index("species")
    assert sorted(rows.index) == ["tst01", "tst02", "tst03", "tst04"]
    assert (rows["folds"] == 3).all() and rows["auc"].between(0, 1).all()
    assert rows.loc["tst01", "auc"] > 0.7  # the warm-loving bird, against its group's records
    region = load_region(data_dir / "TST")
    held_sites = region.po.drop_duplicates(["group", "lat", "lon"]).groupby("group").size()
    assert rows.loc["tst01", "n_sites"] == held_sites["bird"]  # each record site held out once
    assert run.metrics["cv_folds"] == 3
    again = run_benchmark(data_dir, tmp_path / "again", learners=["logistic"], cv_folds=3)
    pd.testing.assert_frame_equal(run.per_species, again.per_species)


def test_cli_cross_validates(data_dir, tmp_path):
    args = ["bench", "disdat", "--data", str(data_dir), "--out", str(tmp_path / "cli")]
    result = CliRunner().invoke(main, [*args, "--learners", "logistic", "--cv", "3"])
    assert result.exit_code == 0, result.output
    assert "cross-validation on the training records, 3 folds" in result.output
    assert "| TST (4) |" in result.output
