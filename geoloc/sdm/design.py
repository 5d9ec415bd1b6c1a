"""The species design of a presence-only SDM evaluation: which species are modelled, on which
rows of the observation table, and in which spatial fold each row lies.

Species with fewer than `sdm.min_presences` records are skipped (and counted). Each kept species
is modelled from its records (presences) against a target-group background of `sdm.background`
records of the other species (geoloc.sdm.background); the rows are the union of all presences and
backgrounds, split into `sdm.folds` folds by spatial blocks of `sdm.block_km` (geoloc.geometry).

The design itself is compact (row indices, their species keys, the background rows); the dense
(rows x species) targets and weights a batched learner needs are built on request for any
subset of species columns, so the fits can run on bounded blocks of species.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from geoloc.errors import GeolocError
from geoloc.geometry import spatial_folds
from geoloc.sdm.background import Background, target_group_background

ALL = slice(None)


@dataclass(frozen=True)
class SpeciesDesign:
    """Kept species, their rows and folds; `species` lists every species of the table."""

    species: pd.DataFrame  # index species_key: species, n_presences, skipped
    kept: np.ndarray  # (S,) keys of the modelled species
    rows: np.ndarray  # (R,) sorted rows of the observation table used by any model
    row_keys: np.ndarray  # (R,) species key of each row
    lat: np.ndarray  # (R,)
    lon: np.ndarray  # (R,)
    background: Background  # shared background rows and which species each serves
    folds: np.ndarray  # (R,) spatial fold of each row

    def targets(self, columns=ALL) -> np.ndarray:
        """(R, s) float32: 1 where the row is a record of the species, for `columns` of kept."""
        return (self.row_keys[:, None] == self.kept[None, columns]).astype(np.float32)

    def weights(self, columns=ALL) -> np.ndarray:
        """(R, s) float32: 1 on the rows that enter the species' model (its presences and its
        background), 0 elsewhere."""
        in_background = np.zeros((len(self.rows), len(self.kept[columns])), dtype=bool)
        at = np.searchsorted(self.rows, self.background.index)
        in_background[at] = self.background.mask[:, columns]
        return ((self.row_keys[:, None] == self.kept[None, columns]) | in_background).astype(
            np.float32
        )


def species_design(observations: pd.DataFrame, sdm) -> SpeciesDesign:
    """The design of `observations` (lat, lon, species_key, species) under `sdm` (SdmParams)."""
    counts = observations.groupby("species_key").size()
    names = observations.groupby("species_key")["species"].first()
    kept = counts.index[counts >= sdm.min_presences].to_numpy()
    if len(kept) == 0:
        raise GeolocError(
            f"no species has >= {sdm.min_presences} records (sdm.min_presences); "
            "nothing to evaluate"
        )
    keys = observations["species_key"].to_numpy()
    background = target_group_background(keys, kept, sdm.background, sdm.seed)
    rows = np.union1d(np.flatnonzero(np.isin(keys, kept)), background.index)
    lat = observations["lat"].to_numpy()[rows]
    lon = observations["lon"].to_numpy()[rows]
    species = pd.DataFrame(
        {
            "species_key": counts.index.to_numpy(),
            "species": names.reindex(counts.index).to_numpy(),
            "n_presences": counts.to_numpy(),
            "skipped": counts.to_numpy() < sdm.min_presences,
        }
    ).set_index("species_key")
    folds = spatial_folds(lat, lon, sdm.block_km, sdm.folds, sdm.seed)
    return SpeciesDesign(species, kept, rows, keys[rows], lat, lon, background, folds)
