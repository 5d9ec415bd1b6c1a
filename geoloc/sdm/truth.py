"""Scoring against the true ranges, where they are known (the demo's virtual species).

A model fitted on all folds is scored on the truth grid: the AUC of its prediction against the
true presence/absence of the species in each cell (`truth_auc`), the measure that observer bias
and spatial autocorrelation in the records cannot inflate.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from geoloc.errors import GeolocError
from geoloc.sdm.stats import auc

COLUMNS = ("species_key", "lat", "lon", "present")


def load_truth(path: str | Path | None, species_keys) -> pd.DataFrame | None:
    """The rows of a truth table (long: species_key, lat, lon, present[, suitability]) for the
    observed `species_keys`, or None (no file given, or none of those species in it)."""
    if path is None:
        return None
    path = Path(path)
    if not path.is_file():
        raise GeolocError(f"truth table not found: {path}")
    truth = pd.read_parquet(path)
    missing = set(COLUMNS) - set(truth.columns)
    if missing:
        raise GeolocError(f"{path}: not a truth table, lacks {', '.join(sorted(missing))}")
    truth = truth[truth["species_key"].isin(np.asarray(species_keys))]
    return truth.reset_index(drop=True) if len(truth) else None


def truth_grid(truth: pd.DataFrame) -> pd.DataFrame:
    """The cells (lat, lon) of the truth table, in their first order."""
    return truth.drop_duplicates(["lat", "lon"])[["lat", "lon"]].reset_index(drop=True)


def truth_matrix(truth: pd.DataFrame, grid: pd.DataFrame, species_keys) -> np.ndarray:
    """(G, S) true presence (1/0) per grid cell and species; NaN where the truth is silent."""
    wide = truth.pivot_table(
        index=["lat", "lon"], columns="species_key", values="present", aggfunc="max"
    ).astype(np.float32)
    wide = wide.reindex(columns=species_keys)
    return wide.reindex(pd.MultiIndex.from_frame(grid[["lat", "lon"]])).to_numpy()


def truth_aucs(present: np.ndarray, grid_scores: np.ndarray) -> list[float]:
    """Per species: AUC of the grid predictions against true presence on its known cells."""
    return [
        auc(present[known, s], grid_scores[known, s])
        for s, known in enumerate(np.isfinite(present).T)
    ]
