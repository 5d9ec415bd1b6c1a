"""Spatial-block cross-validation on a region's training records: how the benchmark's
configuration is chosen without looking at its survey sites (`geoloc bench disdat --cv K`).

The presence records are cut into spatial blocks (geoloc.geometry's blocks, a tenth of the larger
side of the records' extent: `CV_CELLS`, one rule for every region) and the blocks dealt to K
folds. Each fold becomes a Region of its own: the other folds' records train, and the fold's
record *sites* stand in for the survey sites. A held-out site of group g is a presence for the
species of g recorded there and an absence for the other species of g (a presence-only test has
no other absences), null for the species of other groups. Every learner, covariate set and
background then runs through `evaluate_region` unchanged; a species' CV AUC is the mean over the
folds where it has both held-out presences and absences.

These absences are records of the species' own group, the sample the target-group background is
drawn from, so this CV favours that background: it can choose learners and covariates, not the
background (benchmarks/RESULTS.md, round 3).
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np
import pandas as pd

from geoloc.bench.disdat.covariates import DisdatOptions
from geoloc.bench.disdat.data import Region
from geoloc.errors import GeolocError
from geoloc.geometry import sinusoidal_km, spatial_folds

CV_CELLS = 10  # blocks per side of the records' extent
SITE_KEYS = ["group", "lat", "lon"]


def record_folds(region: Region, folds: int, seed: int) -> np.ndarray:
    """(n_records,) fold of every presence record; a spatial block lies in one fold."""
    lat, lon = region.po["lat"].to_numpy(), region.po["lon"].to_numpy()
    x, y = sinusoidal_km(lat, lon)
    side = max(np.ptp(x), np.ptp(y)) if len(x) else 0.0
    fold_of = spatial_folds(lat, lon, side / CV_CELLS if side > 0 else 1.0, folds, seed)
    empty = sorted(set(range(folds)) - set(fold_of.tolist()))
    if empty:
        raise GeolocError(
            f"region {region.name}: its records fall in fewer than {folds} spatial blocks, so "
            f"fold(s) {empty} would be empty; ask for fewer --cv folds"
        )
    return fold_of


def fold_region(region: Region, held: np.ndarray) -> Region:
    """The region trained on the records outside `held` and tested on the held-out record sites
    (see the module docstring); a species without training records in the fold is dropped."""
    train = region.po[~held].reset_index(drop=True)
    trained = set(train["spid"])
    groups = {g: [sp for sp in members if sp in trained] for g, members in region.groups.items()}
    groups = {g: members for g, members in groups.items() if members}
    records = region.po[held].assign(group=region.record_groups()[held])
    sites = held_out_sites(records[records["group"].isin(list(groups))], region, groups)
    return Region(
        region.name,
        train,
        region.bg,
        sites,
        region.env_columns,
        region.categorical_columns,
        groups,
        region.taxa,
    )


def held_out_sites(records: pd.DataFrame, region: Region, groups: dict) -> pd.DataFrame:
    """One row per (group, lat, lon) of the held-out records, in the test_pa layout: 1 where the
    species was recorded, 0 at its group's other sites, null at other groups' sites."""
    sites = records.drop_duplicates(SITE_KEYS)[SITE_KEYS + region.env_columns]
    sites = sites.reset_index(drop=True)
    site_of = pd.MultiIndex.from_frame(sites[SITE_KEYS]).get_indexer(
        pd.MultiIndex.from_frame(records[SITE_KEYS])
    )
    spid = records["spid"].to_numpy()
    columns = {}
    for group, members in groups.items():
        absent = np.where((sites["group"] == group).to_numpy(), 0.0, np.nan)
        for sp in members:
            column = absent.copy()
            column[site_of[spid == sp]] = 1.0
            columns[sp] = column
    return pd.concat([sites, pd.DataFrame(columns, index=sites.index)], axis=1)


def cross_validate_region(
    region: Region,
    folds: int,
    covariate_sets: Iterable[str],
    learners: Iterable[str],
    options: DisdatOptions | None = None,
    device: str = "cpu",
    backgrounds: Iterable[str] = ("target_group",),
):
    """`evaluate_region` on every fold; per species, the mean AUC over its scored folds."""
    from geoloc.bench.disdat.run import RegionResult, evaluate_region

    options = options or DisdatOptions()
    covariate_sets, learners, backgrounds = list(covariate_sets), list(learners), list(backgrounds)
    fold_of = record_folds(region, folds, options.seed)
    per_species, timings, training = [], [], {}
    for fold in range(folds):
        result = evaluate_region(
            fold_region(region, fold_of == fold),
            covariate_sets,
            learners,
            options,
            device,
            backgrounds,
        )
        per_species.append(result.per_species.assign(fold=fold))
        timings.append(result.timings.assign(fold=fold))
        if result.training:
            training[f"fold{fold}"] = result.training
    return RegionResult(
        mean_over_folds(pd.concat(per_species), region), pd.concat(timings), training
    )


def mean_over_folds(per_fold: pd.DataFrame, region: Region) -> pd.DataFrame:
    """One row per species x configuration: mean AUC over the folds that scored it (`folds`),
    held-out sites and presences summed, `n_presences` all of the species' records."""
    keys = ["region", "group", "species", "background", "covariates", "learner"]
    rows = (
        per_fold.groupby(keys, sort=False)
        .agg(
            auc=("auc", "mean"),
            folds=("auc", "count"),
            n_sites=("n_sites", "sum"),
            n_site_presences=("n_site_presences", "sum"),
        )
        .reset_index()
    )
    counts = region.po["spid"].value_counts()
    rows.insert(6, "n_presences", rows["species"].map(counts).fillna(0).astype(int))
    return rows
