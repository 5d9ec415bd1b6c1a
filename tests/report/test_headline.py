"""The headline metrics: a few short keys per block, one file per block, stale files removed."""

from __future__ import annotations

import json

from geoloc.layout import Layout
from geoloc.params import Params
from geoloc.report import headlines, run_summary
from geoloc.report.headline import sdm_headline


def _write(path, obj):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(obj))


def _results(root):
    layout = Layout(root)
    paths = layout.report()
    _write(paths.train / "metrics.json", {"val_median_km": 219.4, "val_top10": 0.06, "loss": 3})
    sdm = {"n_species": 12, "auc_trained": 0.91, "auc_rff": 0.90, "auc_coords": 0.85,
           "truth_auc_trained": 0.96, "truth_auc_rff": 0.94, "truth_auc_coords": None}  # fmt: skip
    _write(paths.evaluate / "plants" / "metrics.json", sdm)
    _write(paths.evaluate / "fungi" / "metrics.json", {"auc_trained": 0.8, "auc_coords": 0.82})
    ident = {"hybrid_accuracy": 0.97, "hybrid_coverage": 0.9, "prior_top1_gain": 0.04,
             "family_top1": 0.99}  # fmt: skip
    _write(paths.identifier / "plants" / "metrics.json", ident)
    _write(paths.reid, {"acc": 1.0, "map": 0.99, "n_identities": 24})
    return paths


def test_trained_against_the_best_other_set_per_dataset(tmp_path):
    blocks = headlines(_results(tmp_path), datasets=["plants", "fungi"])
    assert list(blocks) == ["encoder", "plants", "fungi", "demos"]
    assert blocks["plants"] == {
        "truth_trained": 0.96, "truth_best": 0.94, "truth_gain": 0.02, "cv_trained": 0.91,
        "cv_best": 0.9, "cv_gain": 0.01, "id_accuracy": 0.97, "id_coverage": 0.9,
        "id_prior_gain": 0.04,
    }  # fmt: skip
    assert blocks["fungi"] == {"cv_trained": 0.8, "cv_best": 0.82, "cv_gain": -0.02}
    assert blocks["demos"] == {"reid_acc": 1.0, "reid_map": 0.99}
    assert sdm_headline({"auc_coords": 0.7}) == {}  # no trained set: nothing to compare


def test_one_small_file_per_block_with_unique_keys_and_no_stale_files(tmp_path):
    paths = _results(tmp_path)
    paths.headline.mkdir(parents=True)
    (paths.headline / "birds.json").write_text("{}")  # a dataset that has no results any more
    run_summary(Params(), paths)
    files = sorted(p.name for p in paths.headline.iterdir())
    assert files == ["demos.json", "encoder.json", "fungi.json", "plants.json"]
    plants = json.loads((paths.headline / "plants.json").read_text())
    assert list(plants) == ["plants"] and len(plants["plants"]) <= 10
