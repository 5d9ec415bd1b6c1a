"""One dataset's labelled embeddings for identification: the taxonomy joined, the split
stratified by species (fixed by seed) and which species are rare."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd

from geoloc.embed.store import EmbeddingTable
from geoloc.errors import GeolocError
from geoloc.identify.batches import float_rows
from geoloc.identify.model import Labels, join_taxonomy
from geoloc.identify.split import stratified_split
from geoloc.params import IdentifyParams


@dataclass(frozen=True)
class IdentifyData:
    """The labelled embeddings of one dataset, its split and which species are rare."""

    labels: Labels
    X: np.ndarray  # the table's (N_table, D) embeddings as stored; row i of the data is rows[i]
    lat: np.ndarray  # (N,) of the labelled rows
    lon: np.ndarray
    train: np.ndarray
    val: np.ndarray
    test: np.ndarray
    rare_mask: np.ndarray  # (S,) species with at most identify.rare_max_count observations
    common_idx: np.ndarray  # indices of the other species

    @property
    def y(self) -> np.ndarray:
        return self.labels.y

    @property
    def y_rank(self) -> np.ndarray:
        return self.labels.y_rank

    def rows(self, part: np.ndarray) -> np.ndarray:
        """Rows of `X` of the labelled observations `part` (e.g. `train`)."""
        return self.labels.rows[part]

    def features(self, part: np.ndarray) -> np.ndarray:
        """float32 embeddings of the labelled observations `part` (one batch at a time)."""
        return float_rows(self.X, self.labels.rows[part])


def prepare_data(table: EmbeddingTable, taxonomy: pd.DataFrame, params: IdentifyParams):
    """Join the taxonomy, split train/val/test by species and mark the rare species."""
    labels = join_taxonomy(table, taxonomy, params.rank)
    train, val, test = stratified_split(
        labels.y, params.val_fraction, params.test_fraction, params.seed
    )
    if len(val) == 0 or len(test) == 0:
        raise GeolocError("too few observations per species for a train/val/test split")
    counts = np.bincount(labels.y, minlength=len(labels.species_keys))
    rare_mask = counts <= params.rare_max_count
    return IdentifyData(
        labels=labels,
        X=table.embedding,
        lat=table.lat[labels.rows],
        lon=table.lon[labels.rows],
        train=train,
        val=val,
        test=test,
        rare_mask=rare_mask,
        common_idx=np.flatnonzero(~rare_mask),
    )


def split_counts(data: IdentifyData) -> dict:
    """The sizes the metrics start with: observations, species (common, rare), split parts."""
    return {
        "n_obs": len(data.y),
        "n_species": len(data.labels.species_keys),
        "n_common": len(data.common_idx),
        "n_rare": int(data.rare_mask.sum()),
        "n_train": len(data.train),
        "n_val": len(data.val),
        "n_test": len(data.test),
    }
