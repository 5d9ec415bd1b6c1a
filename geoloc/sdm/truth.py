"""Scoring against the true ranges, where they are known (the demo's virtual species).

A model fitted on all folds is scored on the truth grid: the AUC of its prediction against the
true presence/absence of the species in each cell (`truth_auc`), the measure that observer bias
and spatial autocorrelation in the records cannot inflate.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from geoloc.errors import GeolocError
from geoloc.sdm.design import ranges
from geoloc.sdm.stats import grouped_auc

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


@dataclass(frozen=True)
class TruthCells:
    """True presence (1/0) of the kept species on the cells of the map grid, as (cell, species)
    pairs sorted by species: a block of species reads only its own slice."""

    cell: np.ndarray  # (T,) row of the map grid
    species: np.ndarray  # (T,) position in the kept species
    present: np.ndarray  # (T,) bool
    starts: np.ndarray  # (S + 1,) pairs of species s: starts[s]:starts[s + 1]

    def aucs(self, columns: np.ndarray, grid_scores: np.ndarray) -> np.ndarray:
        """(k,) AUC of the grid predictions (G, k) of the kept species `columns` (sorted)
        against their truth."""
        lengths = self.starts[columns + 1] - self.starts[columns]
        pairs = ranges(self.starts[columns], self.starts[columns + 1])
        species = np.repeat(np.arange(len(columns)), lengths)
        scores = grid_scores[self.cell[pairs], species]
        return grouped_auc(species, self.present[pairs], scores, len(columns))


def truth_cells(truth: pd.DataFrame, grid: pd.DataFrame, species_keys) -> TruthCells:
    """The truth of `species_keys` (sorted) on `grid`'s cells; several rows of one species and
    cell count as present if any is (cells off the grid or missing values are left out)."""
    cell = pd.MultiIndex.from_frame(grid[["lat", "lon"]]).get_indexer(
        pd.MultiIndex.from_frame(truth[["lat", "lon"]])
    )
    keys = truth["species_key"].to_numpy()
    species = np.searchsorted(species_keys, keys)
    species = np.minimum(species, len(species_keys) - 1)
    known = (cell >= 0) & (species_keys[species] == keys) & truth["present"].notna().to_numpy()
    frame = pd.DataFrame(
        {
            "species": species[known],
            "cell": cell[known],
            "present": truth["present"].to_numpy()[known].astype(bool),
        }
    )
    frame = frame.groupby(["species", "cell"], sort=True)["present"].max().reset_index()
    counts = np.bincount(frame["species"], minlength=len(species_keys))
    return TruthCells(
        frame["cell"].to_numpy(),
        frame["species"].to_numpy(),
        frame["present"].to_numpy(),
        np.concatenate([[0], np.cumsum(counts)]),
    )
