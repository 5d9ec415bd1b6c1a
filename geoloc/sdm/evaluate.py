"""Presence-only SDM evaluation of covariate sets with spatial block cross-validation.

Protocol, per dataset (one taxon group), with the knobs of params `sdm:` (SdmParams):
1. the species design (geoloc.sdm.design): kept species, target-group background, rows, folds;
2. per covariate set, one batched learner fitted on all folds and refitted per fold
   (geoloc.sdm.crossval): a species' AUC is that of its pooled out-of-fold predictions;
3. where the true range is known (the demo's virtual species), the all-folds model is also
   scored on the truth grid (geoloc.sdm.truth): `truth_auc`;
4. maps of the most observed species and summaries over species (geoloc.sdm.maps, .summary).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from tqdm import tqdm

from geoloc.errors import GeolocError
from geoloc.sdm import maps
from geoloc.sdm.covariates import CovariateCache, FeatureFunction
from geoloc.sdm.crossval import cross_validate, out_of_fold_aucs
from geoloc.sdm.design import species_design
from geoloc.sdm.learners import get_learner
from geoloc.sdm.summary import summaries
from geoloc.sdm.truth import truth_aucs, truth_matrix

COLUMNS = ("lat", "lon", "species_key", "species")


@dataclass
class SdmResult:
    per_species: pd.DataFrame  # per species: n_presences, skipped, auc_<set>, truth_auc_<set>
    metrics: dict  # flat keys for metrics.json
    summary: dict  # per set and per pair: mean, median, CI, wins/losses
    maps: pd.DataFrame  # long: species_key, species, layer, lat, lon, value
    embedding_grid: pd.DataFrame | None  # lat, lon, r, g, b (PCA of `trained` on the grid)


def evaluate_sdm(
    observations: pd.DataFrame,
    covariates: dict[str, FeatureFunction],
    sdm,
    *,
    truth: pd.DataFrame | None = None,
    grid: pd.DataFrame | None = None,
    device="cpu",
) -> SdmResult:
    """Score every covariate set of `covariates` (name -> f(lat, lon) -> (N, D), in report
    order) under the protocol knobs of `sdm` (SdmParams; its `covariates` names the sets that
    run_evaluate builds, not read here).

    `observations` needs `lat`, `lon`, `species_key`, `species`. `truth` (long: `species_key`,
    `lat`, `lon`, `present`) enables truth AUC and its cells form the map grid; otherwise `grid`
    (lat, lon) or the observed cells are mapped.
    """
    missing = set(COLUMNS) - set(observations.columns)
    if missing:
        raise GeolocError(f"observation table lacks columns: {', '.join(sorted(missing))}")
    if not covariates:
        raise GeolocError("no covariate set to evaluate: name at least one in sdm.covariates")
    obs = observations.reset_index(drop=True)
    design = species_design(obs, sdm)
    grid = maps.map_grid(obs, truth, grid)
    cache = CovariateCache(
        np.concatenate([design.lat, grid["lat"].to_numpy()]),
        np.concatenate([design.lon, grid["lon"].to_numpy()]),
        covariates,
    )
    targets, weights = design.targets(), design.weights()
    present = truth_matrix(truth, grid, design.kept) if truth is not None else None
    table = design.species.copy()
    map_keys = maps.map_species(design.kept, table["n_presences"], truth, sdm.map_species)
    layers = []
    progress = tqdm(total=len(covariates) * (sdm.folds + 1), desc="sdm fits", unit="fit")
    for name in covariates:
        features = cache[name]
        X, X_grid = features[: len(design.rows)], features[len(design.rows) :]
        learner = get_learner(
            sdm.learner, **{"device": device, "seed": sdm.seed, **sdm.learner_options}
        )
        scores = cross_validate(
            learner, X, X_grid, targets, weights, design.folds, sdm.folds, progress.update
        )
        table.loc[design.kept, f"auc_{name}"] = out_of_fold_aucs(
            targets, weights, scores.out_of_fold
        )
        if present is not None:
            table.loc[design.kept, f"truth_auc_{name}"] = truth_aucs(present, scores.grid)
        layers += maps.prediction_layers(grid, name, scores.grid, design.kept, map_keys)
    progress.close()
    if truth is not None:
        layers += maps.truth_layers(truth, map_keys)
    embedding = (
        maps.embedding_rgb(grid, cache["trained"][len(design.rows) :])
        if "trained" in covariates
        else None
    )
    table = table.reset_index()
    summary, metrics = summaries(table, list(covariates), sdm, present is not None)
    species_names = design.species["species"]
    return SdmResult(table, metrics, summary, maps.assemble_maps(layers, species_names), embedding)
