import json

from click.testing import CliRunner

from geoloc.cli import main
from geoloc.report.summary import summary_text


def _write(path, obj):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(obj))


def test_summary_lists_each_dataset_best_set_first(tmp_path):
    _write(
        tmp_path / "plants/sdm/metrics.json",
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
        tmp_path / "train/metrics.json",
        {"val_median_km_init": 500.0, "val_median_km": 200.0},
    )
    _write(
        tmp_path / "reid/metrics.json",
        {"acc": 1.0, "map": 0.99, "n_identities": 24, "acc_global": 0.48, "acc_pixels": 0.58},
    )
    _write(
        tmp_path / "cluster/metrics.json",
        {"n_clusters": 4, "ari": 0.5, "nmi": 0.6, "unclustered": 0.1},
    )
    text = summary_text(tmp_path)
    lines = text.splitlines()
    assert lines[0].endswith("500 km untrained -> 200 km")
    assert lines[1] == "plants:"
    assert "3 species, 1 skipped" in text
    rows = [line.split() for line in lines if line.strip().startswith(("trained", "coords"))]
    assert rows == [["trained", "0.900", "0.950"], ["coords", "0.800", "0.850"]]
    assert "cluster: 4 clusters, ARI 0.500" in text
    assert "reid: 1-NN accuracy 1.000, mAP 0.990 (24 identities); global backbone 0.480" in text
    assert "pixel floor 0.580" in text


def test_real_data_without_truth_shows_a_dash(tmp_path):
    _write(
        tmp_path / "birds/sdm/metrics.json",
        {"n_species": 2, "n_skipped": 0, "auc_trained": 0.7},
    )
    assert "trained      0.700         -" in summary_text(tmp_path)


def test_missing_results_folder_is_a_clear_error(tmp_path):
    result = CliRunner().invoke(main, ["summary", "--results", str(tmp_path / "nope")])
    assert result.exit_code == 1
    assert "run `dvc repro` first" in result.output
