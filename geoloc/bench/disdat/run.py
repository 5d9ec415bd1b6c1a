"""The DISDAT protocol (Elith et al. 2020; Valavi et al. 2022): presence-only training,
presence/absence testing, one AUC per species.

For every species: fit on its presence records + the region's background points, predict the
survey sites of its group, score AUC where its column is not null. Species of one group share
their design matrix, so a group is one multi-output fit (`sample_weight` 0 keeps a species' model
off the other species' records). A learner name `a+b` is an ensemble: the mean of its members'
rank-normalised predictions per species (members are computed once and reused).
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
from scipy.stats import rankdata
from sklearn.metrics import roc_auc_score
from tqdm.auto import tqdm

from geoloc.bench.disdat.covariates import DisdatOptions, RegionCovariates, parse_set
from geoloc.bench.disdat.data import Region
from geoloc.errors import GeolocError
from geoloc.registry import LEARNERS

DEFAULT_SETS = ("env", "env+coords", "env+geoclip", "env+trained", "env+effort:rff")
DEFAULT_LEARNERS = ("logistic", "rf_downsampled", "logistic+rf_downsampled")
QUADRATIC_ENV = {"logistic"}  # learners that get linear + quadratic env terms (a GLM design)


@dataclass
class BenchmarkRun:
    per_species: pd.DataFrame
    summary: pd.DataFrame  # see `summarise`
    timings: pd.DataFrame
    metrics: dict  # flat keys, as written to metrics.json


@dataclass
class RegionResult:
    per_species: pd.DataFrame  # one row per species x covariate set x learner
    timings: pd.DataFrame  # seconds per covariate set (preparation) and per learner fit+predict
    training: dict  # metrics of the region-trained encoder, when one was trained


def learner_members(name: str) -> list[str]:
    """`logistic+rf_downsampled` -> ['logistic', 'rf_downsampled']; a plain name -> [name]."""
    members = name.split("+")
    if len(set(members)) != len(members) or any(m not in LEARNERS for m in members):
        raise GeolocError(
            f"bad learner {name!r}: use one of {', '.join(LEARNERS.names())} or several joined "
            "by '+'"
        )
    return members


def fit_predict_group(
    learner: str,
    X: np.ndarray,
    region: Region,
    group: str,
    seed: int,
    held: list[int] | tuple[int, ...] = (),
    device: str = "cpu",
):
    """Scores (n_group_sites, n_species) of one learner for the species of one group.

    `X` is the region's design: presence records first, then background points, then test sites.
    Columns in `held` are set, at prediction, to their mean over the group's presence records.
    """
    from geoloc.sdm.learners import get_learner

    species = region.groups[group]
    n_po, n_bg = len(region.po), len(region.bg)
    is_presence = region.po["spid"].to_numpy()[:, None] == np.asarray(species)[None, :]
    targets = np.concatenate([is_presence, np.zeros((n_bg, len(species)), bool)]).astype(np.int64)
    # a species' model sees its own records and the background, never another species' records
    weights = np.concatenate([is_presence, np.ones((n_bg, len(species)), bool)]).astype(float)
    keep = weights.any(axis=1)
    sites = (region.pa["group"] == group).to_numpy()
    model = get_learner(learner, device=device, seed=seed)
    model.fit(X[: n_po + n_bg][keep], targets[keep], sample_weight=weights[keep])
    X_sites = X[n_po + n_bg :][sites].copy()
    if held:
        X_sites[:, held] = X[:n_po][is_presence.any(axis=1)][:, held].mean(axis=0)
    scores = model.predict_proba(X_sites)
    return scores.reshape(int(sites.sum()), len(species))


def _rank_mean(predictions: list[np.ndarray]) -> np.ndarray:
    """Mean of per-column ranks scaled to [0, 1]: members on different scales weigh equally."""
    ranks = [rankdata(p, axis=0) / len(p) for p in predictions]
    return np.mean(ranks, axis=0)


def evaluate_region(
    region: Region,
    covariate_sets: Iterable[str],
    learners: Iterable[str],
    options: DisdatOptions | None = None,
    device: str = "cpu",
) -> RegionResult:
    """AUC of every species of `region` for every covariate set x learner."""
    options = options or DisdatOptions()
    covariate_sets, learners = list(covariate_sets), list(learners)
    for name in covariate_sets:
        parse_set(name)
    members = sorted({m for name in learners for m in learner_members(name)})
    covariates = RegionCovariates(region, options, device=device)
    rows, timings = [], []
    progress = tqdm(
        total=len(covariate_sets) * len(members) * len(region.groups),
        desc=f"disdat {region.name}",
        unit="fit",
    )
    for set_name in covariate_sets:
        predictions: dict[str, dict[str, np.ndarray]] = {}
        for learner in members:
            predictions[learner] = {}
            prepare = fit = 0.0
            for group in region.groups:
                start = time.perf_counter()
                X, held = covariates.design(set_name, learner in QUADRATIC_ENV, group)
                prepared = time.perf_counter()
                predictions[learner][group] = fit_predict_group(
                    learner, X, region, group, options.seed, held, device
                )
                prepare += prepared - start
                fit += time.perf_counter() - prepared
                progress.update()
            timings.append(
                {
                    "region": region.name,
                    "covariates": set_name,
                    "learner": learner,
                    "prepare_s": prepare,
                    "fit_predict_s": fit,
                }
            )
        for name in learners:
            parts = learner_members(name)
            for group, species in region.groups.items():
                scores = (
                    predictions[name][group]
                    if len(parts) == 1
                    else _rank_mean([predictions[m][group] for m in parts])
                )
                rows += _score_group(region, group, species, scores, set_name, name)
    progress.close()
    return RegionResult(pd.DataFrame(rows), pd.DataFrame(timings), covariates.training)


def _score_group(region, group, species, scores, set_name, learner) -> list[dict]:
    sites = (region.pa["group"] == group).to_numpy()
    rows = []
    for j, sp in enumerate(species):
        mask, labels = region.test_labels(sp)
        at_sites = mask[sites]  # the species' scored sites among its group's sites
        auc = (
            roc_auc_score(labels, scores[at_sites, j]) if 0 < labels.sum() < len(labels) else np.nan
        )
        rows.append(
            {
                "region": region.name,
                "group": group,
                "species": sp,
                "covariates": set_name,
                "learner": learner,
                "n_presences": int((region.po["spid"] == sp).sum()),
                "n_sites": len(labels),
                "n_site_presences": int(labels.sum()),
                "auc": auc,
            }
        )
    return rows


def summarise(per_species: pd.DataFrame) -> pd.DataFrame:
    """Mean AUC per region x covariate set x learner, plus an `ALL` row per configuration
    (the species-weighted mean over every region, as the literature reports it)."""
    keys = ["covariates", "learner"]
    by_region = (
        per_species.groupby(["region", *keys], sort=False)["auc"]
        .agg(mean_auc="mean", species="count")
        .reset_index()
    )
    overall = (
        per_species.groupby(keys, sort=False)["auc"]
        .agg(mean_auc="mean", species="count")
        .reset_index()
        .assign(region="ALL")
    )
    return pd.concat([by_region, overall], ignore_index=True)


def auc_table(summary: pd.DataFrame) -> pd.DataFrame:
    """Wide table: one row per region (and ALL), one column per `covariates / learner`."""
    summary = summary.assign(config=summary["covariates"] + " / " + summary["learner"])
    regions = list(dict.fromkeys(summary["region"]))
    table = summary.pivot(index="region", columns="config", values="mean_auc")
    counts = summary.groupby("region")["species"].max()
    table = table.loc[regions, list(dict.fromkeys(summary["config"]))]
    table.index = [f"{r} ({counts[r]})" for r in regions]
    return table


def markdown_table(table: pd.DataFrame) -> str:
    """A GitHub markdown table of AUCs with three decimals (for RESULTS.md)."""
    lines = [
        "| region (species) | " + " | ".join(table.columns) + " |",
        "|---" * (len(table.columns) + 1) + "|",
    ]
    for index, row in table.iterrows():
        cells = ["" if pd.isna(v) else f"{v:.3f}" for v in row]
        lines.append(f"| {index} | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def auc_figure(summary: pd.DataFrame):
    """Grouped bars of mean AUC per region for every configuration (plotly Figure)."""
    import plotly.graph_objects as go

    figure = go.Figure()
    for (set_name, learner), part in summary.groupby(["covariates", "learner"], sort=False):
        figure.add_bar(
            name=f"{set_name} / {learner}",
            x=part["region"] + " (" + part["species"].astype(str) + ")",
            y=part["mean_auc"],
        )
    figure.update_layout(
        barmode="group",
        title="DISDAT: mean AUC on the presence/absence test sites",
        yaxis={"title": "mean AUC over species", "range": [0.5, 0.8]},
        legend_title="covariates / learner",
    )
    return figure


def run_benchmark(
    data_dir: str | Path,
    out_dir: str | Path,
    regions: Iterable[str] | None = None,
    covariate_sets: Iterable[str] = DEFAULT_SETS,
    learners: Iterable[str] = DEFAULT_LEARNERS,
    options: DisdatOptions | None = None,
    device: str = "cpu",
    threads: int | None = 1,
) -> BenchmarkRun:
    """Run every region and write the outputs to `out_dir`.

    Outputs: per_species.csv, summary.csv (region x set x learner, with ALL), table.md (wide),
    timings.csv, auc.html (plotly, self-contained), metrics.json (flat keys, runtime).
    `threads` caps torch's CPU threads (None: leave as is). The per-group fits are small, and
    on a shared machine OpenMP workers spinning against other processes cost 10x or more.
    """
    from geoloc.bench.disdat.data import load_region, region_names
    from geoloc.io import atomic_path, write_csv, write_json
    from geoloc.runtime import torch_threads

    start = time.perf_counter()
    data_dir, out_dir = Path(data_dir), Path(out_dir)
    available = region_names(data_dir)
    regions = list(regions) if regions else available
    unknown = [r for r in regions if r not in available]
    if unknown:
        raise GeolocError(
            f"region(s) {', '.join(unknown)} not in {data_dir}; found: {', '.join(available)}"
        )
    covariate_sets, learners = list(covariate_sets), list(learners)
    for name in covariate_sets:
        parse_set(name)  # bad names fail before any region is loaded
    for name in learners:
        learner_members(name)
    per_species, timings, training = [], [], {}
    for name in regions:
        with torch_threads(threads):
            result = evaluate_region(
                load_region(data_dir / name), covariate_sets, learners, options, device
            )
        per_species.append(result.per_species)
        timings.append(result.timings)
        if result.training:
            training[name] = result.training
    per_species = pd.concat(per_species, ignore_index=True)
    timings = pd.concat(timings, ignore_index=True)
    summary = summarise(per_species)
    seconds = time.perf_counter() - start

    write_csv(per_species, out_dir / "per_species.csv", float_format="%.5f")
    write_csv(summary, out_dir / "summary.csv", float_format="%.5f")
    write_csv(timings, out_dir / "timings.csv", float_format="%.3f")
    with atomic_path(out_dir / "table.md") as tmp:
        tmp.write_text(markdown_table(auc_table(summary)))
    with atomic_path(out_dir / "auc.html") as tmp:
        auc_figure(summary).write_html(tmp, include_plotlyjs=True)
    metrics = {
        **{
            f"auc_{row.region}_{row.covariates}_{row.learner}": round(row.mean_auc, 5)
            for row in summary.itertuples()
        },
        "species": int(per_species.groupby(["region", "species"]).ngroups),
        "runtime_s": round(seconds, 1),
    }
    write_json(out_dir / "metrics.json", {**metrics, "encoder_training": training})
    return BenchmarkRun(per_species, summary, timings, metrics)
