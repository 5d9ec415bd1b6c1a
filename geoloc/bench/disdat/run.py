"""The DISDAT protocol (Elith et al. 2020; Valavi et al. 2022): presence-only training,
presence/absence testing, one AUC per species.

For every species: fit on its presence records against a background (`--background`: the
records of its survey group or of its taxon's groups, or the region's random points;
geoloc.bench.disdat.learners), predict the
survey sites of its group, score AUC where its column is not null. Per-species learners fit the
species of one group as one multi-output problem; multi-species learners fit one network per
region on the record sites. A learner name `a+b` is an ensemble: the (weighted) mean of its
members' rank-normalised predictions per species (members are computed once and reused).
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
from sklearn.metrics import roc_auc_score
from tqdm.auto import tqdm

from geoloc.bench.disdat.covariates import DisdatOptions, RegionCovariates, parse_set
from geoloc.bench.disdat.data import Region
from geoloc.bench.disdat.learners import (
    Member,
    check_background,
    check_target_groups,
    fit_predict_group,
    fit_predict_region,
    parse_learner,
    rank_mean,
)
from geoloc.bench.disdat.sites import region_sites
from geoloc.bench.disdat.tables import (
    auc_figure,
    auc_table,
    markdown_table,
    paired_table,
    summarise,
)
from geoloc.errors import GeolocError

# the configuration chosen by spatial-block CV on training records (docs/disdat.md)
CHOSEN = "maxent:seeds=3+rf_downsampled:n_estimators=500"
DEFAULT_SETS = ("env+landscape",)
DEFAULT_LEARNERS = ("maxent:seeds=3", "rf_downsampled:n_estimators=500", CHOSEN)
DEFAULT_BACKGROUNDS = ("target_group",)
QUADRATIC_ENV = {"logistic"}  # learners that get linear + quadratic env terms (a GLM design)


@dataclass
class BenchmarkRun:
    per_species: pd.DataFrame
    summary: pd.DataFrame  # see `summarise`
    paired: pd.DataFrame  # see `paired_table`
    timings: pd.DataFrame
    metrics: dict  # flat keys, as written to metrics.json


@dataclass
class RegionResult:
    per_species: pd.DataFrame  # one row per species x background x covariate set x learner
    timings: pd.DataFrame  # seconds per member: covariate preparation and fit + predict
    training: dict  # metrics of the region-trained encoder, when one was trained


def _shares_species(member: Member) -> bool:
    return getattr(member.build("cpu", 0), "shares_species", False)


def member_scores(member, set_name, covariates, sites, background, options, device) -> dict:
    """group -> (n_group_sites, n_species) scores of one member on one covariate set."""
    region = covariates.region
    if _shares_species(member):
        if parse_set(set_name).effort:
            raise GeolocError(
                f"covariate set {set_name!r} holds a per-group effort covariate: use it with "
                f"per-species learners, not {member.name!r} (one network for all groups)"
            )
        X, _ = covariates.design(set_name, False, None)
        return fit_predict_region(member, X, region, sites(), background, options.seed, device)
    scores = {}
    for group in region.groups:
        X, held = covariates.design(set_name, member.name in QUADRATIC_ENV, group)
        scores[group] = fit_predict_group(
            member, X, region, group, background, options.seed, held, device
        )
    return scores


def evaluate_region(
    region: Region,
    covariate_sets: Iterable[str],
    learners: Iterable[str],
    options: DisdatOptions | None = None,
    device: str = "cpu",
    backgrounds: Iterable[str] = DEFAULT_BACKGROUNDS,
) -> RegionResult:
    """AUC of every species of `region` for every background x covariate set x learner."""
    options = options or DisdatOptions()
    covariate_sets, backgrounds = list(covariate_sets), list(backgrounds)
    for name in covariate_sets:
        parse_set(name)
    ensembles = [parse_learner(name) for name in learners]
    members = list({m.label: m for e in ensembles for m in e.members}.values())
    covariates = RegionCovariates(region, options, device=device)
    cached = {}

    def sites():
        if "sites" not in cached:
            cached["sites"] = region_sites(region)
        return cached["sites"]

    rows, timings = [], []
    progress = tqdm(
        total=len(backgrounds) * len(covariate_sets) * len(members),
        desc=f"disdat {region.name}",
        unit="member",
    )
    for background in map(check_background, backgrounds):
        if background != "random":
            check_target_groups(region, background)
        for set_name in covariate_sets:
            predictions = {}
            for member in members:
                start = time.perf_counter()
                predictions[member.label] = member_scores(
                    member, set_name, covariates, sites, background, options, device
                )
                timings.append(
                    {
                        "region": region.name,
                        "background": background,
                        "covariates": set_name,
                        "learner": member.label,
                        "seconds": time.perf_counter() - start,
                    }
                )
                progress.update()
            for ensemble in ensembles:
                for group, species in region.groups.items():
                    scores = rank_mean(
                        [predictions[m.label][group] for m in ensemble.members], ensemble.weights
                    )
                    key = {"background": background, "covariates": set_name}
                    rows += _score_group(region, group, species, scores, key, ensemble.label)
    progress.close()
    return RegionResult(pd.DataFrame(rows), pd.DataFrame(timings), covariates.training)


def _score_group(region, group, species, scores, key: dict, learner) -> list[dict]:
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
                **key,
                "learner": learner,
                "n_presences": int((region.po["spid"] == sp).sum()),
                "n_sites": len(labels),
                "n_site_presences": int(labels.sum()),
                "auc": auc,
            }
        )
    return rows


def run_benchmark(
    data_dir: str | Path,
    out_dir: str | Path,
    regions: Iterable[str] | None = None,
    covariate_sets: Iterable[str] = DEFAULT_SETS,
    learners: Iterable[str] = DEFAULT_LEARNERS,
    options: DisdatOptions | None = None,
    device: str = "cpu",
    threads: int | None = 1,
    backgrounds: Iterable[str] = DEFAULT_BACKGROUNDS,
    cv_folds: int = 0,
) -> BenchmarkRun:
    """Run every region and write the outputs to `out_dir` (`write_outputs`).

    `threads` caps torch's CPU threads (None: leave as is). The per-group fits are small, and
    on a shared machine OpenMP workers spinning against other processes cost 10x or more.
    `cv_folds` > 1 scores by spatial-block cross-validation on the training records instead of
    the survey sites (geoloc.bench.disdat.cv), as the configuration is chosen.
    """
    from geoloc.bench.disdat.cv import cross_validate_region
    from geoloc.bench.disdat.data import load_region, region_names
    from geoloc.runtime import torch_threads

    start = time.perf_counter()
    data_dir = Path(data_dir)
    available = region_names(data_dir)
    regions = list(regions) if regions else available
    unknown = [r for r in regions if r not in available]
    if unknown:
        raise GeolocError(
            f"region(s) {', '.join(unknown)} not in {data_dir}; found: {', '.join(available)}"
        )
    covariate_sets, learners = list(covariate_sets), list(learners)
    backgrounds = [check_background(name) for name in backgrounds]
    for name in covariate_sets:
        parse_set(name)  # bad names fail before any region is loaded
    for name in learners:
        parse_learner(name)
    if cv_folds == 1 or cv_folds < 0:
        raise GeolocError(f"cross-validation needs at least 2 folds, not {cv_folds}")
    per_species, timings, training = [], [], {}
    for name in regions:
        region = load_region(data_dir / name)
        settings = (covariate_sets, learners, options, device, backgrounds)
        with torch_threads(threads):
            if cv_folds:
                result = cross_validate_region(region, cv_folds, *settings)
            else:
                result = evaluate_region(region, *settings)
        per_species.append(result.per_species)
        timings.append(result.timings)
        if result.training:
            training[name] = result.training
    per_species = pd.concat(per_species, ignore_index=True)
    summary = summarise(per_species)
    seconds = time.perf_counter() - start
    metrics = {
        **{
            f"auc_{row.region}_{row.background}_{row.covariates}_{row.learner}": round(
                row.mean_auc, 5
            )
            for row in summary.itertuples()
        },
        "species": int(per_species.groupby(["region", "species"]).ngroups),
        "runtime_s": round(seconds, 1),
        **({"cv_folds": cv_folds} if cv_folds else {}),
    }
    run = BenchmarkRun(per_species, summary, paired_table(per_species), pd.concat(timings), metrics)
    write_outputs(run, out_dir, training)
    return run


def write_outputs(run: BenchmarkRun, out_dir: str | Path, training: dict) -> None:
    """per_species.csv, summary.csv (region x configuration, with ALL), paired.csv (paired
    differences with CIs), table.md (wide), timings.csv, auc.html (plotly, self-contained),
    metrics.json (flat keys, runtime, the region encoders' training metrics); each atomic."""
    from geoloc.io import atomic_path, write_csv, write_json

    out_dir = Path(out_dir)
    write_csv(run.per_species, out_dir / "per_species.csv", float_format="%.5f")
    write_csv(run.summary, out_dir / "summary.csv", float_format="%.5f")
    write_csv(run.paired, out_dir / "paired.csv", float_format="%.5f")
    write_csv(run.timings, out_dir / "timings.csv", float_format="%.3f")
    with atomic_path(out_dir / "table.md") as tmp:
        tmp.write_text(markdown_table(auc_table(run.summary)))
    with atomic_path(out_dir / "auc.html") as tmp:
        auc_figure(run.summary).write_html(tmp, include_plotlyjs=True)
    write_json(out_dir / "metrics.json", {**run.metrics, "encoder_training": training})
