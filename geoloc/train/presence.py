"""The presence objective's training device: a species head on the location embedding, trained
with a presence-only loss of geoloc.sdm.presence (`train.presence_loss`) on location alone
(SINR-style: no image, no covariate).

Every row is a record: one site with one species. Its *target group* is its dataset (in the
pipeline, the embedding file it came from). The background of a species in a batch is the
batch's records of its groups, its own among them: DeepMaxent's target-group background, drawn
afresh every batch, with the observer bias of the presences. `an_full` adds as many uniform
random locations (uniform on the sphere, within the bounding box of the training rows) as the
batch has records, negatives for every species, as SINR does. The head is S x dim weights and
its tables G x S: nothing on the device grows with the number of rows.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch
from torch import nn

from geoloc.errors import GeolocError
from geoloc.sdm.presence import (
    balanced_pos_weight,
    presence_loss,
    presence_matrix,
    target_group_mask,
)


@dataclass(frozen=True)
class PresenceLabels:
    """What the species head knows of the rows, on the host: the head's outputs are `keys`."""

    keys: np.ndarray  # (S,) sorted species keys, one output of the head each
    group: np.ndarray  # (N,) int64 target group of each row, 0..G-1
    group_species: np.ndarray  # (G, S) bool: species s has a record in group g
    n_presence: np.ndarray  # (S,) training rows of each species
    n_group_rows: np.ndarray  # (G,) training rows of each group

    @classmethod
    def of(cls, species_key, group, train_rows: np.ndarray) -> PresenceLabels:
        """Labels of rows with `species_key` (N,) and `group` (N,) ids (None: one group) whose
        training rows are `train_rows`."""
        species_key = np.asarray(species_key)
        group = np.zeros(len(species_key), np.int64) if group is None else np.asarray(group)
        if group.shape != species_key.shape or species_key.ndim != 1:
            raise GeolocError(
                f"one species and one group per record: got {species_key.shape} species, "
                f"{group.shape} groups"
            )
        keys, species = np.unique(species_key, return_inverse=True)
        names, group = np.unique(group, return_inverse=True)
        group_species = np.zeros((len(names), len(keys)), bool)
        group_species[group, species] = True
        return cls(
            keys=keys.astype(np.int64),
            group=group.astype(np.int64),
            group_species=group_species,
            n_presence=np.bincount(species[train_rows], minlength=len(keys)),
            n_group_rows=np.bincount(group[train_rows], minlength=len(names)),
        )

    def background_counts(self, n_random: int) -> np.ndarray:
        """(S,) background entries of each species in one pass over the training rows: the
        records of its groups plus `n_random` random locations."""
        return self.group_species.T.astype(np.int64) @ self.n_group_rows + n_random


class PresenceHead(nn.Module):
    """Linear map of the location embedding to one logit per species, and its loss."""

    def __init__(self, dim: int, labels: PresenceLabels, loss: str, bounds, n_random: int):
        """`bounds` (lat_min, lat_max, lon_min, lon_max) of the random background of `an_full`,
        `n_random` the random locations of one pass (to balance the presences' weight)."""
        super().__init__()
        self.loss, self.bounds = loss, tuple(float(b) for b in bounds)
        self.species = nn.Linear(dim, len(labels.keys))
        self.register_buffer("keys", torch.from_numpy(labels.keys))
        self.register_buffer("species_groups", torch.from_numpy(labels.group_species.T.copy()))
        counts = labels.background_counts(n_random if loss == "an_full" else 0)
        self.register_buffer("pos_weight", balanced_pos_weight(labels.n_presence, counts))

    def random_background(self, n: int, generator: torch.Generator):
        """(lat, lon) of `n` random background locations for `an_full` (None for `maxent`),
        drawn from `generator`, on the head's device."""
        if self.loss != "an_full":
            return None
        lat_min, lat_max, lon_min, lon_max = self.bounds
        u = torch.rand(2, n, generator=generator, device=generator.device, dtype=torch.float64)
        low, high = np.sin(np.radians(lat_min)), np.sin(np.radians(lat_max))
        lat = torch.rad2deg(torch.asin(low + u[0] * (high - low)))
        lon = lon_min + u[1] * (lon_max - lon_min)
        device = self.keys.device
        return lat.float().to(device), lon.float().to(device)

    def forward(self, embedding, species_key, group, random_embedding=None) -> torch.Tensor:
        """The presence loss of a batch of records (embedding (B, dim), their species keys and
        groups), with the random locations' embeddings as extra negatives when given."""
        logits = self.species(embedding)
        presence = presence_matrix(torch.searchsorted(self.keys, species_key), len(self.keys))
        background = target_group_mask(group, self.species_groups)
        if random_embedding is not None:
            negatives = self.species(random_embedding)
            logits = torch.cat([logits, negatives])
            presence = torch.cat([presence, torch.zeros_like(negatives, dtype=presence.dtype)])
            background = torch.cat([background, torch.ones_like(negatives, dtype=torch.bool)])
        return presence_loss(self.loss, logits, presence, background, self.pos_weight)
