"""Results trees in the pipeline's layout for the report tests: a minimal one per step, and
one of a given number of species (the report's size at scale)."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd

from geoloc.layout import Layout

STATS = {"mean": 0.8, "median": 0.8, "ci_low": 0.7, "ci_high": 0.9, "n": 2}


def evaluated(layout: Layout, dataset: str):
    """The evaluate@<dataset> results folder."""
    return layout.evaluate(dataset, "real.zip").out_dir


def write_sdm_results(folder, with_truth=True, with_maps=True):
    """A minimal evaluate@<ds> output folder: three species, one skipped."""
    folder.mkdir(parents=True)
    sets = ["trained", "coords"]
    per = pd.DataFrame(
        {
            "species_key": [1, 2, 3],
            "species": ["A a", "B b", "C c"],
            "n_presences": [50, 40, 3],
            "skipped": [False, False, True],
            "auc_trained": [0.9, 0.8, None],
            "auc_coords": [0.7, 0.75, None],
        }
    )
    summary = {"reference": "trained", "sets": {s: {"auc": STATS} for s in sets}, "deltas": {}}
    summary["deltas"]["trained_coords"] = {
        "auc": {"mean": 0.1, "ci_low": 0.05, "ci_high": 0.15, "wins": 2, "losses": 0, "n": 2}
    }
    if with_truth:
        per["truth_auc_trained"] = [0.95, 0.85, None]
        per["truth_auc_coords"] = [0.7, 0.6, None]
        for s in sets:
            summary["sets"][s]["truth_auc"] = STATS
    per.to_csv(folder / "per_species.csv", index=False)
    (folder / "summary.json").write_text(json.dumps(summary))
    if with_maps:
        grid = pd.DataFrame({"lat": [45.0, 46.0, 47.0], "lon": [1.0, 2.0, 3.0]})
        layers = [
            grid.assign(species_key=1, species="A a", layer=layer, value=[0.1, 0.5, 0.9])
            for layer in ("truth", "trained", "coords")
        ]
        pd.concat(layers).to_parquet(folder / "maps.parquet")
        grid.assign(r=[0.1, 0.2, 0.3], g=[0.5, 0.5, 0.5], b=[0.9, 0.1, 0.0]).to_parquet(
            folder / "embedding_grid.parquet"
        )


def write_live(train_dir, steps: int = 3):
    """dvclive curves of the train step: loss and top-1 per epoch."""
    metrics = train_dir / "live" / "plots" / "metrics"
    (metrics / "train").mkdir(parents=True)
    step = np.arange(steps)
    for name, values in (("train/loss", 3.0 / (1 + step)), ("val_top1", step / max(steps, 1))):
        pd.DataFrame({"timestamp": step, "step": step, name.split("/")[-1]: values}).to_csv(
            metrics / f"{name}.tsv", sep="\t", index=False
        )


def equal_km_grid(n_rows: int, per_row: int, lat0: float = 42.0, step_km: float = 10.0):
    """Cells of equal size in km on latitude rows, as the demo's truth grid: the longitude step
    widens northwards."""
    lat = lat0 + np.arange(n_rows) * step_km / 111.2
    rows = [
        pd.DataFrame(
            {
                "lat": la,
                "lon": 0.0 + np.arange(per_row) * step_km / (111.2 * np.cos(np.radians(la))),
            }
        )
        for la in lat
    ]
    return pd.concat(rows, ignore_index=True)


def write_sdm_at_scale(folder, n_species: int, map_species: int, grid: pd.DataFrame, seed=0):
    """evaluate@<ds> output for `n_species` species, six covariate sets with truth, maps of
    `map_species` species (more than the report shows) on `grid`."""
    rng = np.random.default_rng(seed)
    folder.mkdir(parents=True)
    sets = ["trained", "geoclip", "sh", "rff", "coords", "random"]
    per = pd.DataFrame(
        {
            "species_key": np.arange(n_species) + 10_000_000,
            "species": [f"Genus{i // 7} species{i}" for i in range(n_species)],
            "n_presences": rng.integers(5, 5000, n_species),
            "skipped": rng.random(n_species) < 0.1,
        }
    )
    summary = {"reference": "trained", "sets": {}, "deltas": {}}
    for s in sets:
        for prefix in ("auc", "truth_auc"):
            per[f"{prefix}_{s}"] = np.where(per["skipped"], np.nan, rng.uniform(0.55, 1, n_species))
        summary["sets"][s] = {prefix: STATS for prefix in ("auc", "truth_auc")}
    per.to_csv(folder / "per_species.csv", index=False)
    (folder / "summary.json").write_text(json.dumps(summary))
    value = np.sin(grid["lat"].to_numpy()) * np.cos(grid["lon"].to_numpy())
    layers = [
        grid.assign(species_key=key, species=f"sp{key}", layer=layer, value=value + k)
        for k, key in enumerate(per["species_key"][:map_species])
        for layer in ("trained", "geoclip", "truth")
    ]
    pd.concat(layers, ignore_index=True).to_parquet(folder / "maps.parquet")
    rgb = rng.random((len(grid), 3))
    grid.assign(r=rgb[:, 0], g=rgb[:, 1], b=rgb[:, 2]).to_parquet(folder / "embedding_grid.parquet")


def write_identifier_at_scale(folder, n_classes: int):
    """train-identifier@<ds> output whose rank classifier has `n_classes` families."""
    folder.mkdir(parents=True)
    names = [f"Family{i}" for i in range(n_classes)]
    confusion = np.diag(np.arange(n_classes) + 5).tolist()
    test = {
        "per_class": [{"name": n, "support": i + 5, "accuracy": 1.0} for i, n in enumerate(names)],
        "confusion": confusion,
        "confused_pairs": [],
    }
    run = {"head": "linear", "remedy": "none", "top1": 1.0, "top5": 1.0, "macro_f1": 1.0}
    run |= {"balanced_accuracy": 1.0, "minority_recall": 1.0}
    curve = [{"target": t, "coverage": t, "accuracy": 1.0} for t in (0.5, 1.0)]
    report = {
        "rank": "family",
        "rank_classifier": {"best": "linear/none", "runs": [run], "test": test},
        "hybrid": {"curve": curve, "operating_point": curve[-1]},
    }
    (folder / "report.json").write_text(json.dumps(report))
    metrics = {"n_common": n_classes, "n_rare": 0, "hybrid_coverage": 1.0, "hybrid_accuracy": 1.0}
    metrics |= {"hybrid_accuracy_common": 1.0, "hybrid_accuracy_rare": 1.0}
    metrics |= {"family_top1": 1.0, "prior_top1_gain": 0.0, "prior_top1_image": 0.9}
    metrics["prior_top1_fused"] = 0.9
    (folder / "metrics.json").write_text(json.dumps(metrics))
