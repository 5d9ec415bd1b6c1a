"""Presence-only SDM evaluation of covariate sets with spatial block cross-validation.

Protocol, per dataset (one taxon group), with the knobs of params `sdm:` (SdmParams):
1. the species design (geoloc.sdm.design): kept species, target-group background, rows, folds;
2. per covariate set and block of `sdm.species_block` species (all species for a learner whose
   species share parameters: `block_size`), one batched learner fitted on all
   folds and refitted per fold (geoloc.sdm.crossval): a species' AUC is that of its pooled
   out-of-fold predictions;
3. where the true range is known (the demo's virtual species), the all-folds model is also
   scored on the truth grid (geoloc.sdm.truth): `truth_auc`;
4. maps of the most observed species and summaries over species (geoloc.sdm.maps, .summary).

Memory is that of one covariate matrix (rows + grid cells) plus one block of species: no array
is rows x species, so thousands of species and millions of records fit.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from tqdm import tqdm

from geoloc.errors import GeolocError
from geoloc.sdm import maps
from geoloc.sdm.covariates import FeatureFunction, covariate_matrix
from geoloc.sdm.crossval import cross_validate, out_of_fold_aucs
from geoloc.sdm.design import SpeciesDesign, species_design
from geoloc.sdm.learners import get_learner
from geoloc.sdm.summary import summaries
from geoloc.sdm.truth import TruthCells, truth_cells

COLUMNS = ("lat", "lon", "species_key", "species")


@dataclass
class SdmResult:
    per_species: pd.DataFrame  # per species: n_presences, skipped, auc_<set>, truth_auc_<set>
    metrics: dict  # flat keys for metrics.json
    summary: dict  # per set and per pair: mean, median, CI, wins/losses
    maps: pd.DataFrame  # long: species_key, species, layer, lat, lon, value
    embedding_grid: pd.DataFrame | None  # lat, lon, r, g, b (PCA of `trained` on the grid)


@dataclass
class SetScores:
    """One covariate set over every block of species."""

    auc: np.ndarray  # (S,) out-of-fold AUC per kept species
    truth_auc: np.ndarray | None  # (S,) AUC against the truth, when there is one
    mapped: dict  # species key -> (G,) all-folds predictions, for the mapped species


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
    cells = truth_cells(truth, grid, design.kept) if truth is not None else None
    table = design.species.copy()
    map_keys = maps.map_species(design.kept, table["n_presences"], truth, sdm.map_species)
    lat = np.concatenate([design.lat, grid["lat"].to_numpy()])
    lon = np.concatenate([design.lon, grid["lon"].to_numpy()])
    options = {"device": device, "seed": sdm.seed, **sdm.learner_options}
    size = block_size(get_learner(sdm.learner, **options), design, sdm)
    n_blocks = -(-len(design.kept) // size)
    progress = tqdm(total=len(covariates) * n_blocks * (sdm.folds + 1), unit="fit")
    layers, embedding = [], None
    for name, function in covariates.items():
        progress.set_description(f"sdm fits, set {name}")
        features = covariate_matrix(name, function, lat, lon)
        X, X_grid = features[: len(design.rows)], features[len(design.rows) :]
        scores = fit_set(X, X_grid, design, sdm, size, cells, map_keys, options, progress.update)
        table.loc[design.kept, f"auc_{name}"] = scores.auc
        if cells is not None:
            table.loc[design.kept, f"truth_auc_{name}"] = scores.truth_auc
        layers += maps.prediction_layers(grid, name, scores.mapped)
        if name == "trained":
            embedding = maps.embedding_rgb(grid, X_grid)
        del features, X, X_grid
    progress.close()
    if truth is not None:
        layers += maps.truth_layers(truth, map_keys)
    table = table.reset_index()
    summary, metrics = summaries(table, list(covariates), sdm, cells is not None)
    species_names = design.species["species"]
    return SdmResult(table, metrics, summary, maps.assemble_maps(layers, species_names), embedding)


def fit_set(
    X: np.ndarray,
    X_grid: np.ndarray,
    design: SpeciesDesign,
    sdm,
    size: int,
    cells: TruthCells | None,
    map_keys: list,
    options: dict,
    step,
) -> SetScores:
    """Cross-validate one covariate set over the kept species, `size` of them at a time (a
    fresh learner per block, built with `options`); keep per species only its AUCs and, if
    mapped, its grid."""
    auc = np.full(len(design.kept), np.nan)
    truth_auc = np.full(len(design.kept), np.nan) if cells is not None else None
    grids = {}
    for block in design.blocks(size):
        learner = get_learner(sdm.learner, **options)
        scores = cross_validate(learner, X, X_grid, block, design.folds, sdm.folds, step)
        auc[block.columns] = out_of_fold_aucs(block, scores.out_of_fold)
        if cells is not None:
            truth_auc[block.columns] = cells.aucs(block.columns, scores.grid)
        for column, key in enumerate(design.kept[block.columns]):
            if key in map_keys:
                grids[key] = scores.grid[:, column]
    return SetScores(auc, truth_auc, {key: grids[key] for key in map_keys})


def block_size(learner, design: SpeciesDesign, sdm) -> int:
    """Species fitted together: `sdm.species_block`, or all kept species for a learner whose
    species share parameters (`shares_species`, e.g. one network for all): it learns from every
    species of the dataset at once, as one target group, and split into blocks it would learn
    from a few only. Its memory stays that of its pairs plus a (batch, species) block."""
    return len(design.kept) if getattr(learner, "shares_species", False) else sdm.species_block
