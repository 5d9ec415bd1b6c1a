"""run_cluster: the stage and `geoloc cluster` give the same metrics; embedding and unlabelled
sources; `geoloc fewshot` reports the step's few-shot keys."""

import json

import numpy as np
import pandas as pd
from click.testing import CliRunner

from geoloc.cli import main
from geoloc.discovery import run_cluster
from geoloc.layout import ClusterPaths
from geoloc.params import Params
from tests.stage_runs import labelled_store as store
from tests.stage_runs import stage_and_command
from tests.test_pipeline import TINY_PARAMS


def _run(*args):
    return CliRunner().invoke(main, [str(a) for a in args])


def test_stage_and_command_give_the_same_metrics(tmp_path, monkeypatch, repo_root):
    monkeypatch.chdir(tmp_path)
    params = {"cluster": TINY_PARAMS["cluster"]}
    by_stage, by_command = stage_and_command(
        repo_root, tmp_path, "cluster", params, "results/cluster/metrics.json", "cluster"
    )
    assert by_command == by_stage
    assert {"ari", "r0_ari", "r1_ari", "prototypical_1shot_acc"} <= set(by_stage)


def test_embedding_file_with_assignments_and_shortcut_options(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    h5 = store(tmp_path / "e.h5", np.repeat(list("abcdef"), 15))
    assign = tmp_path / "a.csv"
    result = _run("cluster", h5, "--rounds", 1, "--epochs", 5, "--assignments", assign)
    assert result.exit_code == 0, result.output
    metrics = json.loads(result.stdout)
    assert metrics["rounds"] == 1 and metrics["r0_ari"] > 0.9 and "matching_5shot_acc" in metrics
    table = pd.read_csv(assign)
    assert list(table.columns) == ["gbif_id", "cluster"] and len(table) == 90
    assert table["cluster"].nunique() == metrics["n_clusters"] + (metrics["unclustered"] > 0)
    result = _run("cluster", h5, "--set", "cluster.reduction=tsne")
    assert result.exit_code == 1 and "cluster.reduction" in result.output


def test_unlabelled_embeddings_give_counts_only(tmp_path):
    h5 = store(tmp_path / "e.h5", np.repeat(list("abcd"), 20))
    import h5py

    with h5py.File(h5, "a") as f:
        f["species_key"][...] = -1
    metrics = run_cluster(Params(cluster={"rounds": 1, "epochs": 5}), ClusterPaths(h5, None))
    assert {"n_clusters", "unclustered", "rounds"} <= set(metrics)
    assert not any(key.endswith(("ari", "nmi", "purity", "_acc")) for key in metrics)


def test_fewshot_command_uses_the_cluster_fewshot_params(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    h5 = store(tmp_path / "e.h5", np.repeat(list("abcdef"), 15))
    result = _run(
        "fewshot", h5, "--n-way", 3, "--k-shot", "1,2", "--episodes", 5, "--method", "matching"
    )
    assert result.exit_code == 0, result.output
    assert set(json.loads(result.stdout)) == {
        f"matching_{k}shot_{s}" for k in (1, 2) for s in ("acc", "ci95")
    }
