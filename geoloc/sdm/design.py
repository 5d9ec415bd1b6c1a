"""The species design of a presence-only SDM evaluation: which species are modelled, on which
rows of the observation table, and in which spatial fold each row lies.

Species with fewer than `sdm.min_presences` records are skipped (and counted). Each kept species
is modelled from its records (presences) against a target-group background of `sdm.background`
records of the other species (geoloc.sdm.background); the rows are the union of all presences and
backgrounds, split into `sdm.folds` folds by spatial blocks of `sdm.block_km` (geoloc.geometry).

The design is compact (row indices, their species, the background prefix). The learners see it a
block of species at a time (`blocks`), as the (row, species) pairs that enter each model: a block
costs its species' presences plus block size x background, never rows x species.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import sparse

from geoloc.errors import GeolocError
from geoloc.geometry import spatial_folds
from geoloc.sdm.background import Background, target_group_background


@dataclass(frozen=True)
class SpeciesBlock:
    """The (row, species) pairs of the kept species `columns`, sorted by row then species:
    each pair is a row of the design (a record of the species or of its background) in that
    species' model."""

    columns: np.ndarray  # (k,) sorted positions in SpeciesDesign.kept
    rows: np.ndarray  # (M,) int64 design rows
    species: np.ndarray  # (M,) int64 species of the pair, 0..k-1 within the block
    presence: np.ndarray  # (M,) bool: the row is a record of the species
    n_rows: int  # design rows (R)

    @property
    def n_species(self) -> int:
        return len(self.columns)

    def matrices(self, pairs=slice(None)) -> tuple[sparse.csr_array, sparse.csr_array]:
        """(targets, weights) of the `pairs` (index or mask) as sparse (R, k) arrays, the
        learners' input; a species without pairs has an empty column."""
        rows, columns = self.rows[pairs], self.species[pairs]
        shape = (self.n_rows, self.n_species)
        weights = sparse.csr_array((np.ones(len(rows), np.float32), (rows, columns)), shape)
        targets = sparse.csr_array(
            (self.presence[pairs].astype(np.float32), (rows, columns)), shape
        )
        return targets, weights


@dataclass(frozen=True)
class SpeciesDesign:
    """Kept species, their rows and folds; `species` lists every species of the table."""

    species: pd.DataFrame  # index species_key: species, n_presences, skipped
    kept: np.ndarray  # (S,) sorted keys of the modelled species
    rows: np.ndarray  # (R,) sorted rows of the observation table used by any model
    row_keys: np.ndarray  # (R,) species key of each row
    lat: np.ndarray  # (R,)
    lon: np.ndarray  # (R,)
    background: Background  # shared background rows and where each species' ends
    folds: np.ndarray  # (R,) spatial fold of each row

    def blocks(self, size: int) -> Iterator[SpeciesBlock]:
        """The kept species in blocks of at most `size`, dealt out in order of abundance: the
        commonest species spread over the blocks, so that every block holds about as many
        records (a block's memory is its species' backgrounds plus their records)."""
        n_blocks = -(-len(self.kept) // size)
        counts = self.species["n_presences"].reindex(self.kept).to_numpy()
        by_abundance = np.argsort(-counts, kind="stable")
        by_species, starts = self._presences_by_species()
        background_rows = np.searchsorted(self.rows, self.background.index)
        for first in range(n_blocks):
            columns = np.sort(by_abundance[first::n_blocks])
            presences = by_species[ranges(starts[columns], starts[columns + 1])]
            at, column = np.nonzero(self.background.members(columns))  # block x background
            rows = np.concatenate([presences, background_rows[at]])
            own = np.repeat(np.arange(len(columns)), starts[columns + 1] - starts[columns])
            species = np.concatenate([own, column])
            presence = np.arange(len(rows)) < len(presences)
            order = np.lexsort((species, rows))
            yield SpeciesBlock(
                columns, rows[order], species[order], presence[order], len(self.rows)
            )

    def _presences_by_species(self) -> tuple[np.ndarray, np.ndarray]:
        """Design rows of kept species' records grouped by species, and each species' start."""
        code = np.searchsorted(self.kept, self.row_keys)
        code = np.where(self.kept[np.minimum(code, len(self.kept) - 1)] == self.row_keys, code, -1)
        order = np.argsort(code, kind="stable")
        order = order[code[order] >= 0]
        counts = np.bincount(code[order], minlength=len(self.kept))
        return order, np.concatenate([[0], np.cumsum(counts)])


def ranges(starts: np.ndarray, stops: np.ndarray) -> np.ndarray:
    """The indices start..stop-1 of every (start, stop), concatenated, without a loop."""
    lengths = stops - starts
    offsets = starts - (np.cumsum(lengths) - lengths)
    return np.arange(lengths.sum()) + np.repeat(offsets, lengths)


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
    if len(counts) == 1:
        raise GeolocError(
            f"the observations hold one species only ({names.iloc[0]}): there is no "
            "target-group background (records of other species) to fit presence-only SDMs "
            "against; evaluate a dataset with several species"
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
