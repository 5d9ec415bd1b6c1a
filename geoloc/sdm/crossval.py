"""Fitting one covariate set to one block of species under spatial block cross-validation.

One batched learner fits every species of the block: first on all folds (the model whose
predictions are mapped and scored against the truth), then once per held-out fold on the other
folds, each refit starting from the previous solution when the learner warm-starts. The held-out
predictions are kept only at the block's (row, species) pairs and pooled over folds; a species'
AUC is that of its pooled out-of-fold presences against its out-of-fold background.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from geoloc.sdm.design import SpeciesBlock
from geoloc.sdm.stats import grouped_auc

_CHUNK_ROWS = 16384  # rows predicted at a time: (chunk, block) scores, never (rows, species)


@dataclass(frozen=True)
class BlockScores:
    grid: np.ndarray  # (G, k) predictions of the all-folds model on the map grid
    out_of_fold: np.ndarray  # (M,) held-out prediction of each pair; NaN where not fittable


def cross_validate(
    learner,
    X: np.ndarray,
    X_grid: np.ndarray,
    block: SpeciesBlock,
    folds: np.ndarray,
    n_folds: int,
    step: Callable[[], object] = lambda: None,
) -> BlockScores:
    """Fit `learner` on all rows of the block's species, predict the grid, then refit per fold
    and predict each held-out pair; `step()` is called after every fit (progress)."""
    learner.fit(X, *block.matrices())
    grid = predictions(learner, X_grid)
    step()
    oof = np.full(len(block.rows), np.nan, dtype=np.float32)
    held_out = folds[block.rows]
    for fold in range(n_folds):
        train = held_out != fold
        fit = fittable(block, train)
        if fit.any():
            # the unfittable species keep their column, without rows: every species' warm
            # start is its own last solution
            learner.fit(X, *block.matrices(train & fit[block.species]))
            test = np.flatnonzero(~train & fit[block.species])
            oof[test] = pair_predictions(learner, X, block.rows[test], block.species[test])
        step()
    return BlockScores(grid, oof)


def out_of_fold_aucs(block: SpeciesBlock, oof: np.ndarray) -> np.ndarray:
    """(k,) per species of the block: AUC of its pooled held-out scores (NaN if unscored)."""
    scored = np.isfinite(oof)
    return grouped_auc(block.species[scored], block.presence[scored], oof[scored], block.n_species)


def predictions(model, X: np.ndarray) -> np.ndarray:
    return np.asarray(model.predict_proba(X), dtype=np.float32)


def pair_predictions(model, X: np.ndarray, rows: np.ndarray, columns: np.ndarray) -> np.ndarray:
    """(M,) prediction of species `columns[i]` at row `rows[i]` (rows sorted), predicting a
    chunk of distinct rows at a time."""
    distinct, first = np.unique(rows, return_index=True)
    out = np.empty(len(rows), dtype=np.float32)
    bounds = np.append(first, len(rows))
    for start in range(0, len(distinct), _CHUNK_ROWS):
        chunk = distinct[start : start + _CHUNK_ROWS]
        pairs = slice(bounds[start], bounds[start + len(chunk)])
        scores = predictions(model, X[chunk])
        out[pairs] = scores[np.searchsorted(chunk, rows[pairs]), columns[pairs]]
    return out


def fittable(block: SpeciesBlock, train: np.ndarray, minimum: int = 2) -> np.ndarray:
    """(k,) species with at least `minimum` presences and background rows among the `train`
    pairs."""
    species, presence = block.species[train], block.presence[train]
    presences = np.bincount(species[presence], minlength=block.n_species)
    background = np.bincount(species[~presence], minlength=block.n_species)
    return (presences >= minimum) & (background >= minimum)
