"""Presence-only SDM evaluation of covariate sets with spatial block cross-validation.

Protocol, per dataset (one taxon group):
1. Species with fewer than `min_presences` records are skipped (and counted).
2. Each remaining species is modelled from its records (presences) against a target-group
   background of `background` records of the other species (geoloc.sdm.background).
3. Points are split into `folds` folds by spatial blocks of `block_km` (geoloc.geometry). For
   each fold one batched learner fits every species on the other folds; its predictions on the
   held-out blocks are pooled over folds, and the species' AUC is that of the pooled out-of-fold
   presences vs its out-of-fold background.
4. Where the true range is known (the demo's virtual species), a model fitted on all folds is also
   scored on the truth grid: AUC of its prediction against true presence/absence (`truth_auc`).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from sklearn.metrics import roc_auc_score
from tqdm import tqdm

from geoloc.errors import GeolocError
from geoloc.geometry import block_ids, spatial_folds
from geoloc.sdm.background import target_group_background
from geoloc.sdm.covariates import CovariateCache
from geoloc.sdm.learners import get_learner
from geoloc.sdm.stats import paired_difference, summarize


@dataclass
class SdmConfig:
    """The knobs of the protocol (params.yaml `sdm:` maps onto these)."""

    covariates: list[str]
    learner: str = "logistic"
    learner_options: dict = field(default_factory=dict)
    block_km: float = 50.0
    folds: int = 5
    background: int = 5000
    min_presences: int = 10
    map_species: int = 3
    bootstrap: int = 2000
    seed: int = 0


@dataclass
class SdmResult:
    per_species: (
        pd.DataFrame
    )  # one row per species: n_presences, skipped, auc_<set>, truth_auc_<set>
    metrics: dict  # flat keys for metrics.json
    summary: dict  # per set and per pair: mean, median, CI, wins/losses
    maps: pd.DataFrame  # long: species_key, species, layer, lat, lon, value
    embedding_grid: pd.DataFrame | None  # lat, lon, r, g, b (PCA of `trained` on the grid)


def auc(labels: np.ndarray, scores: np.ndarray) -> float:
    """ROC AUC, NaN when only one class is present."""
    labels = np.asarray(labels)
    if labels.min(initial=1) == labels.max(initial=0):
        return float("nan")
    return float(roc_auc_score(labels, scores))


def observation_grid(lat: np.ndarray, lon: np.ndarray, step_km: float) -> pd.DataFrame:
    """Centres of the `step_km` cells that hold at least one observation: a map grid of the
    sampled area when no truth grid exists (real data)."""
    ids = pd.Series(block_ids(lat, lon, step_km))
    frame = pd.DataFrame({"lat": lat, "lon": lon, "cell": ids})
    return frame.groupby("cell")[["lat", "lon"]].mean().reset_index(drop=True)


def evaluate_sdm(
    observations: pd.DataFrame,
    covariates: dict,
    config: SdmConfig,
    *,
    truth: pd.DataFrame | None = None,
    grid: pd.DataFrame | None = None,
    device: str = "cpu",
) -> SdmResult:
    """Score every covariate set; `covariates` maps set name -> f(lat, lon) -> (N, D).

    `observations` needs `lat`, `lon`, `species_key`, `species`. `truth` (long: `species_key`,
    `lat`, `lon`, `present`, optionally `suitability`) enables truth AUC and its cells form the map
    grid; otherwise `grid` (lat, lon) or the observed cells are mapped.
    """
    missing = {"lat", "lon", "species_key", "species"} - set(observations.columns)
    if missing:
        raise GeolocError(f"observation table lacks columns: {', '.join(sorted(missing))}")
    if not config.covariates:
        raise GeolocError("sdm.covariates is empty: name at least one covariate set")
    obs = observations.reset_index(drop=True)
    counts = obs.groupby("species_key").size()
    names = obs.groupby("species_key")["species"].first()
    kept = counts.index[counts >= config.min_presences].to_numpy()
    if len(kept) == 0:
        raise GeolocError(
            f"no species has >= {config.min_presences} records (sdm.min_presences); "
            "nothing to evaluate"
        )
    keys = obs["species_key"].to_numpy()
    background = target_group_background(keys, kept, config.background, config.seed)
    rows = np.union1d(np.flatnonzero(np.isin(keys, kept)), background.index)
    targets = (keys[rows, None] == kept[None, :]).astype(np.float32)
    in_background = np.zeros((len(rows), len(kept)), dtype=bool)
    in_background[np.searchsorted(rows, background.index)] = background.mask
    weights = ((targets > 0) | in_background).astype(np.float32)
    folds = spatial_folds(
        obs["lat"].to_numpy()[rows],
        obs["lon"].to_numpy()[rows],
        config.block_km,
        config.folds,
        config.seed,
    )

    if truth is not None:
        grid = truth.drop_duplicates(["lat", "lon"])[["lat", "lon"]].reset_index(drop=True)
    elif grid is None:
        grid = observation_grid(obs["lat"].to_numpy(), obs["lon"].to_numpy(), 10.0)
    cache = CovariateCache(
        np.concatenate([obs["lat"].to_numpy()[rows], grid["lat"].to_numpy()]),
        np.concatenate([obs["lon"].to_numpy()[rows], grid["lon"].to_numpy()]),
        covariates,
    )
    n_rows = len(rows)
    table = pd.DataFrame(
        {
            "species_key": counts.index.to_numpy(),
            "species": names.reindex(counts.index).to_numpy(),
            "n_presences": counts.to_numpy(),
            "skipped": counts.to_numpy() < config.min_presences,
        }
    ).set_index("species_key")
    map_keys = _map_species(kept, counts, truth, config.map_species)
    map_layers = []
    truth_grid = _truth_matrix(truth, grid, kept) if truth is not None else None

    progress = tqdm(total=len(config.covariates) * (config.folds + 1), desc="sdm fits", unit="fit")
    for name in config.covariates:
        features = cache[name]
        X, X_grid = features[:n_rows], features[n_rows:]
        # One learner per set: the model on all folds first (for the maps and truth), then each
        # fold's refit, which a warm-starting learner begins from the previous solution.
        model = _learner(config, device).fit(X, targets, sample_weight=weights)
        grid_scores = _scores(model, X_grid)
        progress.update()
        oof = np.full(targets.shape, np.nan, dtype=np.float32)
        for fold in range(config.folds):
            train = folds != fold
            fit_weights = weights * train[:, None]
            fittable = _fittable(targets, fit_weights)
            if fittable.any():
                model.fit(X, targets[:, fittable], sample_weight=fit_weights[:, fittable])
                test = ~train
                oof[np.ix_(test, fittable)] = _scores(model, X[test])
            progress.update()
        scored = (weights > 0) & np.isfinite(oof)
        table.loc[kept, f"auc_{name}"] = [
            auc(targets[rows_s, s], oof[rows_s, s]) for s, rows_s in enumerate(scored.T)
        ]
        if truth_grid is not None:
            table.loc[kept, f"truth_auc_{name}"] = [
                auc(truth_grid[known, s], grid_scores[known, s])
                for s, known in enumerate(np.isfinite(truth_grid).T)
            ]
        for key in map_keys:
            map_layers.append(
                _layer(grid, key, name, grid_scores[:, np.flatnonzero(kept == key)[0]])
            )
    progress.close()
    if truth is not None:
        present = truth[truth["species_key"].isin(map_keys)]
        for key, group in present.groupby("species_key"):
            map_layers.append(_layer(group, key, "truth", group["present"].astype(np.float32)))

    maps = pd.concat(map_layers, ignore_index=True) if map_layers else pd.DataFrame()
    if not maps.empty:
        maps["species"] = names.reindex(maps["species_key"]).to_numpy()
    embedding = (
        _embedding_rgb(grid, cache["trained"][n_rows:]) if "trained" in config.covariates else None
    )
    table = table.reset_index()
    summary, metrics = _summaries(table, config, truth_grid is not None)
    return SdmResult(table, metrics, summary, maps, embedding)


def _learner(config: SdmConfig, device: str):
    options = dict(config.learner_options)
    if config.learner in ("logistic", "mlp"):
        options.setdefault("device", device)
    if config.learner == "logistic":
        options.setdefault("warm_start", True)  # CV folds refit from the all-folds solution
    if config.learner in ("mlp", "rf_downsampled"):
        options.setdefault("seed", config.seed)
    return get_learner(config.learner, **options)


def _scores(model, X: np.ndarray) -> np.ndarray:
    return np.asarray(model.predict_proba(X), dtype=np.float32)


def _fittable(targets: np.ndarray, weights: np.ndarray, minimum: int = 2) -> np.ndarray:
    """Species with at least `minimum` presences and background rows among the weighted rows."""
    used = weights > 0
    return ((targets * used).sum(0) >= minimum) & (((1 - targets) * used).sum(0) >= minimum)


def _map_species(kept, counts, truth, n: int) -> list:
    """The `n` most observed species (among those with a truth range, when there is a truth)."""
    ranked = counts.loc[kept].sort_values(ascending=False, kind="stable").index
    if truth is not None:
        ranked = [key for key in ranked if key in set(truth["species_key"].unique())]
    return list(ranked[:n])


def _truth_matrix(truth: pd.DataFrame, grid: pd.DataFrame, kept: np.ndarray) -> np.ndarray:
    """(G, S) true presence (1/0) per grid cell and kept species; NaN where the truth is silent."""
    wide = truth.pivot_table(
        index=["lat", "lon"], columns="species_key", values="present", aggfunc="max"
    ).astype(np.float32)
    wide = wide.reindex(columns=kept)
    return wide.reindex(pd.MultiIndex.from_frame(grid[["lat", "lon"]])).to_numpy()


def _layer(points: pd.DataFrame, key, layer: str, values) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "species_key": key,
            "layer": layer,
            "lat": points["lat"].to_numpy(),
            "lon": points["lon"].to_numpy(),
            "value": np.asarray(values, dtype=np.float32),
        }
    )


def _embedding_rgb(grid: pd.DataFrame, embedding: np.ndarray) -> pd.DataFrame:
    """First three principal components of the embedding, each stretched to [0, 1] (2-98 %)."""
    centred = embedding - embedding.mean(0)
    _, _, vt = np.linalg.svd(centred, full_matrices=False)
    pcs = centred @ vt[:3].T
    low, high = np.percentile(pcs, [2, 98], axis=0)
    rgb = np.clip((pcs - low) / np.maximum(high - low, 1e-12), 0, 1)
    rgb = np.pad(rgb, ((0, 0), (0, 3 - rgb.shape[1])))
    return pd.DataFrame(
        {"lat": grid["lat"], "lon": grid["lon"], "r": rgb[:, 0], "g": rgb[:, 1], "b": rgb[:, 2]}
    )


def _summaries(table: pd.DataFrame, config: SdmConfig, has_truth: bool) -> tuple[dict, dict]:
    """Per-set summaries and paired deltas; flat metrics for DVC."""
    sets = config.covariates
    reference = "trained" if "trained" in sets else sets[0]
    evaluated = table[~table["skipped"]]
    metrics: dict = {"n_species": int(len(evaluated)), "n_skipped": int(table["skipped"].sum())}
    summary: dict = {"reference": reference, "sets": {}, "deltas": {}}
    for prefix in ("auc", "truth_auc") if has_truth else ("auc",):
        for name in sets:
            stats = summarize(evaluated[f"{prefix}_{name}"], config.bootstrap, config.seed)
            summary["sets"].setdefault(name, {})[prefix] = stats
            metrics[f"{prefix}_{name}"] = _round(stats["mean"])
        for name in sets:
            if name == reference:
                continue
            delta = paired_difference(
                evaluated[f"{prefix}_{reference}"],
                evaluated[f"{prefix}_{name}"],
                config.bootstrap,
                config.seed,
            )
            summary["deltas"].setdefault(f"{reference}_{name}", {})[prefix] = delta
            short = "delta" if prefix == "auc" else "truth_delta"
            metrics[f"{short}_{reference}_{name}"] = _round(delta["mean"])
    return summary, metrics


def _round(value: float) -> float | None:
    return None if not np.isfinite(value) else round(float(value), 4)
