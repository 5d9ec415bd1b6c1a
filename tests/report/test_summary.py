import json

from click.testing import CliRunner

from geoloc.cli import main
from geoloc.layout import Layout
from geoloc.report.summary import summary_text


def _write(path, obj):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(obj))


def test_summary_lists_each_dataset_best_set_first(tmp_path):
    layout = Layout(tmp_path)
    _write(
        layout.evaluate("plants", "real.zip").out_dir / "metrics.json",
        {
            "n_species": 3,
            "n_skipped": 1,
            "auc_trained": 0.9,
            "auc_coords": 0.8,
            "truth_auc_trained": 0.95,
            "truth_auc_coords": 0.85,
        },
    )
    _write(
        layout.identifier("plants").results / "metrics.json",
        {
            "family_top1": 0.8,
            "hybrid_accuracy": 0.9,
            "hybrid_coverage": 0.88,
            "prior_top1_gain": 0.02,
        },
    )
    _write(
        layout.identifier("birds").results / "metrics.json",
        {
            "family_top1": 0.7,
            "hybrid_accuracy": 0.8,
            "hybrid_coverage": 0.88,
            "prior_top1_gain": -0.01,
        },
    )
    _write(
        layout.train([]).results / "metrics.json",
        {"val_median_km_init": 500.0, "val_median_km": 200.0},
    )
    _write(
        layout.reid().out,
        {"acc": 1.0, "map": 0.99, "n_identities": 24, "acc_global": 0.48, "acc_pixels": 0.58},
    )
    _write(
        layout.cluster().out,
        {"n_clusters": 4, "ari": 0.5, "nmi": 0.6, "unclustered": 0.1},
    )
    text = summary_text(layout.report())
    lines = text.splitlines()
    assert lines[0].endswith("500 km untrained -> 200 km")
    assert lines[1] == "birds:" and lines[2].startswith("  identify: family top-1 0.700")
    assert lines[3] == "plants:"
    assert "family top-1 0.800; hybrid accuracy 0.900 at coverage 0.880" in text
    assert "3 species, 1 skipped" in text
    rows = [line.split() for line in lines if line.strip().startswith(("trained", "coords"))]
    assert rows == [["trained", "0.900", "0.950"], ["coords", "0.800", "0.850"]]
    assert "cluster: 4 clusters, ARI 0.500" in text
    assert "reid: 1-NN accuracy 1.000, mAP 0.990 (24 identities); global backbone 0.480" in text
    assert "pixel floor 0.580" in text
    _write(layout.reid().run, {"matcher": "sift"})
    assert "reid (sift): 1-NN accuracy 1.000" in summary_text(layout.report())


def test_real_data_without_truth_shows_a_dash(tmp_path):
    layout = Layout(tmp_path)
    _write(
        layout.evaluate("birds", "real.zip").out_dir / "metrics.json",
        {"n_species": 2, "n_skipped": 0, "auc_trained": 0.7},
    )
    result = CliRunner().invoke(main, ["summary", "--root", str(tmp_path)])
    assert result.exit_code == 0, result.output
    assert "trained      0.700         -" in result.output


def test_missing_results_folder_is_a_clear_error(tmp_path):
    result = CliRunner().invoke(main, ["summary", "--root", str(tmp_path / "nope")])
    assert result.exit_code == 1
    assert "run `dvc repro` first" in result.output
