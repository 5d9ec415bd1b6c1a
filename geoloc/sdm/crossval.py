"""Fitting one covariate set under spatial block cross-validation.

One batched learner fits every species of the design: first on all folds (the model whose
predictions are mapped and scored against the truth), then once per held-out fold on the other
folds, each refit starting from the previous solution when the learner warm-starts. The held-out
predictions are pooled over folds, and a species' AUC is that of its pooled out-of-fold
presences against its out-of-fold background.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from geoloc.sdm.stats import auc


@dataclass(frozen=True)
class SetScores:
    grid: np.ndarray  # (G, S) predictions of the all-folds model on the map grid
    out_of_fold: np.ndarray  # (R, S) held-out predictions; NaN where a species was not fittable


def cross_validate(
    learner,
    X: np.ndarray,
    X_grid: np.ndarray,
    targets: np.ndarray,
    weights: np.ndarray,
    folds: np.ndarray,
    n_folds: int,
    step: Callable[[], object] = lambda: None,
) -> SetScores:
    """Fit `learner` on all rows, predict the grid, then refit per fold and predict the held-out
    rows; `step()` is called after every fit (progress)."""
    learner.fit(X, targets, sample_weight=weights)
    grid = predictions(learner, X_grid)
    step()
    oof = np.full(targets.shape, np.nan, dtype=np.float32)
    for fold in range(n_folds):
        train = folds != fold
        fit_weights = weights * train[:, None]
        fit = fittable(targets, fit_weights)
        if fit.any():
            learner.fit(X, targets[:, fit], sample_weight=fit_weights[:, fit])
            test = ~train
            oof[np.ix_(test, fit)] = predictions(learner, X[test])
        step()
    return SetScores(grid, oof)


def out_of_fold_aucs(targets: np.ndarray, weights: np.ndarray, oof: np.ndarray) -> list[float]:
    """Per species: AUC of its pooled held-out scores on its own rows (NaN if unscored)."""
    scored = (weights > 0) & np.isfinite(oof)
    return [auc(targets[rows, s], oof[rows, s]) for s, rows in enumerate(scored.T)]


def predictions(model, X: np.ndarray) -> np.ndarray:
    return np.asarray(model.predict_proba(X), dtype=np.float32)


def fittable(targets: np.ndarray, weights: np.ndarray, minimum: int = 2) -> np.ndarray:
    """Species with at least `minimum` presences and background rows among the weighted rows."""
    used = weights > 0
    return ((targets * used).sum(0) >= minimum) & (((1 - targets) * used).sum(0) >= minimum)
