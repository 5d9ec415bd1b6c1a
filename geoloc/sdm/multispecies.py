"""The multi-species presence-only SDM: one network for every species of a group, its outputs
one score per species (DeepMaxent, Ryckewaert et al. 2024; SINR, Cole et al. 2023).

Species share the hidden layers, so a rare species borrows the habitat structure that the common
ones reveal; the loss is one of geoloc.sdm.presence (`maxent`, `an_full`). The learner has the
interface of geoloc.sdm.learners (`fit(X, Y, sample_weight)`, `predict_proba`, `device`, `seed`)
and says `shares_species = True`: its callers give it all species of a dataset in one fit.

Who is background for whom comes in one of two forms, read one mini-batch of rows at a time, so
nothing beyond a (batch, S) block is dense:
- the learners' (row, species) pairs: `sample_weight > 0` marks the rows in a species' model
  (presences and background; held-out folds have weight 0). Only membership counts: the loss has
  no per-entry weights.
- `groups=TargetGroups(row_groups, species_groups)`: target groups from group ids, row i is
  background for species s when a group recorded at i is a group of s (DISDAT's taxon groups).

Predictions: `an_full` gives a logit; `maxent` a log-intensity, defined only up to a constant per
species, which the fit fixes by normalising it to a mean intensity of 1 over the species'
training background (so scores of different fits, e.g. cross-validation folds, are comparable).
`predict_proba` is the sigmoid of that score: monotone in it, which is all that AUC reads.
`seeds` > 1 trains that many networks (seeds seed, seed + 1, ...) and averages their scores.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np
from pydantic import NonNegativeFloat, NonNegativeInt, PositiveFloat, PositiveInt
from scipy import sparse

from geoloc.params import PresenceLoss
from geoloc.sdm.learners import _pairs, _TorchSdm, check_params

_CHUNK_ROWS = 8192  # rows scored at a time after a fit: (chunk, S) blocks


@dataclass(frozen=True)
class TargetGroups:
    """Group ids of rows and species: O(rows x G + S x G), never rows x species."""

    row_groups: np.ndarray  # (N, G) bool: a species of group g was recorded at row i
    species_groups: np.ndarray  # (S, G) bool: species s belongs to group g


class _Entries:
    """Presence (B, S) and background (B, S) of any batch of rows, from pairs or group ids."""

    def __init__(self, y, sample_weight, groups: TargetGroups | None):
        if groups is None:
            pairs = _pairs(y, sample_weight)
            self.single = pairs.single
            self.presence = sparse.csr_matrix(pairs.matrix(pairs.targets))
            self.member = sparse.csr_matrix(pairs.matrix(np.ones_like(pairs.targets)))
            self.rows = np.unique(pairs.rows)
            self.groups = None
        else:
            if sample_weight is not None:
                raise ValueError("give either sample_weight or groups, not both")
            self.single = False
            self.presence = sparse.csr_matrix(y, dtype=np.float32)
            self.presence.data[:] = self.presence.data > 0
            self.rows = np.arange(self.presence.shape[0])
            self.groups = groups
            self._check_groups()
        self.n_species = self.presence.shape[1]

    def _check_groups(self) -> None:
        groups = self.groups
        n, s = self.presence.shape
        if groups.row_groups.shape[0] != n or groups.species_groups.shape[0] != s:
            raise ValueError(
                f"groups {groups.row_groups.shape} / {groups.species_groups.shape} do not match "
                f"{n} rows x {s} species"
            )

    def batch(self, rows: np.ndarray, device):
        """(presence float32, background bool) tensors of `rows` on `device`."""
        import torch

        from geoloc.sdm.presence import target_group_mask

        presence = torch.as_tensor(self.presence[rows].toarray(), device=device)
        if self.groups is None:
            background = torch.as_tensor(self.member[rows].toarray() > 0, device=device)
        else:
            background = target_group_mask(
                torch.as_tensor(self.groups.row_groups[rows], device=device),
                torch.as_tensor(self.groups.species_groups, device=device),
            )
        return presence, background | (presence > 0)

    def chunks(self, device):
        """(rows, presence, background) over all training rows, a chunk at a time."""
        for start in range(0, len(self.rows), _CHUNK_ROWS):
            rows = self.rows[start : start + _CHUNK_ROWS]
            yield (rows, *self.batch(rows, device))

    def counts(self, device) -> tuple[np.ndarray, np.ndarray]:
        """(S,) presences and background entries (presences included) of every species."""
        n_presence = np.zeros(self.n_species)
        n_background = np.zeros(self.n_species)
        for _, presence, background in self.chunks(device):
            n_presence += presence.sum(0).cpu().numpy()
            n_background += background.sum(0).cpu().numpy()
        return n_presence, n_background


class MultiSpeciesSDM(_TorchSdm):
    """MLP (D -> `hidden` x `layers`, ReLU -> S) trained with Adam (L2 `weight_decay`) on
    mini-batches of rows with a presence-only loss; `layers=0` is a linear head."""

    shares_species = True  # one fit for all species of a dataset (geoloc.sdm.evaluate)
    dtype = "float32"

    def __init__(
        self,
        loss: PresenceLoss = "maxent",
        hidden: PositiveInt = 250,
        layers: NonNegativeInt = 2,
        lr: PositiveFloat = 2e-4,
        weight_decay: NonNegativeFloat = 1e-2,
        epochs: PositiveInt = 190,
        batch_size: PositiveInt = 256,
        pos_weight: PositiveFloat | Literal["balanced"] = "balanced",
        seeds: PositiveInt = 1,
        seed: NonNegativeInt = 0,
        device: str = "auto",
    ):
        self.loss = loss
        self.hidden = hidden
        self.layers = layers
        self.lr = lr
        self.weight_decay = weight_decay
        self.epochs = epochs
        self.batch_size = batch_size
        self.pos_weight = pos_weight
        self.seeds = seeds
        self.seed = seed
        self.device = device

    def fit(self, X, y, sample_weight=None, groups: TargetGroups | None = None):
        """Fit on covariates `X` (N, D) and presences `y` (N, S), the background given by
        `sample_weight` pairs or by `groups` (see the module docstring)."""
        check_params(self)
        entries = _Entries(y, sample_weight, groups)
        self.single_ = entries.single
        self._setup(X)
        Xs = self._standardise(X)
        n_presence, n_background = entries.counts(self.device_)
        self.fitted_ = n_presence > 0  # species without presences: NaN predictions
        pos_weight = self._pos_weight(n_presence, n_background)
        self.networks_, offsets = [], []
        for member in range(self.seeds):
            network = self._train(Xs, entries, self.seed + member, pos_weight)
            self.networks_.append(network)
            offsets.append(self._offset(network, Xs, entries, n_background))
        self.offsets_ = offsets
        return self

    def _pos_weight(self, n_presence, n_background):
        from geoloc.sdm.presence import balanced_pos_weight

        if self.pos_weight == "balanced":
            return balanced_pos_weight(n_presence, n_background).to(self.device_)
        return float(self.pos_weight)

    def _network(self, d: int, s: int, seed: int):
        import torch

        with torch.random.fork_rng(devices=[]):  # seeded init, global RNG left as it was
            torch.manual_seed(seed)
            blocks, width = [], d
            for _ in range(self.layers):
                blocks += [torch.nn.Linear(width, self.hidden), torch.nn.ReLU()]
                width = self.hidden
            network = torch.nn.Sequential(*blocks, torch.nn.Linear(width, s))
        return network.to(self.device_, self.dtype_)

    def _train(self, Xs, entries: _Entries, seed: int, pos_weight):
        import torch

        from geoloc.sdm.presence import presence_loss

        network = self._network(Xs.shape[1], entries.n_species, seed)
        optimizer = torch.optim.Adam(
            network.parameters(), lr=self.lr, weight_decay=self.weight_decay
        )
        generator = torch.Generator().manual_seed(seed)
        rows = entries.rows
        for _ in range(self.epochs):
            for batch in torch.randperm(len(rows), generator=generator).split(self.batch_size):
                at = rows[batch.numpy()]
                presence, background = entries.batch(at, self.device_)
                if self.loss == "maxent" and not presence.any():
                    continue  # no species to fit in this batch
                loss = presence_loss(
                    self.loss,
                    network(Xs[torch.as_tensor(at, device=self.device_)]),
                    presence,
                    background,
                    pos_weight,
                )
                optimizer.zero_grad()
                loss.backward()
                optimizer.step()
        return network.eval()

    def _offset(self, network, Xs, entries: _Entries, n_background):
        """(S,) what `maxent` subtracts: the log of the mean intensity over each species'
        training background (0 for `an_full`, whose logit needs no constant)."""
        import torch

        if self.loss != "maxent":
            return torch.zeros(entries.n_species, device=self.device_)
        total = torch.full((entries.n_species,), -torch.inf, device=self.device_)
        with torch.no_grad():
            for rows, _, background in entries.chunks(self.device_):
                scores = network(Xs[torch.as_tensor(rows, device=self.device_)]).float()
                chunk = torch.logsumexp(scores.masked_fill(~background, -torch.inf), dim=0)
                total = torch.logaddexp(total, chunk)
        count = torch.as_tensor(np.maximum(n_background, 1), device=self.device_)
        return total - count.log().to(total.dtype)

    def _logits(self, X):
        import torch

        Xs = self._standardise(X)
        with torch.no_grad():
            scores = [
                network(Xs).float() - offset
                for network, offset in zip(self.networks_, self.offsets_, strict=True)
            ]
            mean = torch.stack(scores).mean(0)
        return mean.masked_fill(torch.as_tensor(~self.fitted_, device=mean.device), torch.nan)


def maxent(**options) -> MultiSpeciesSDM:
    """The DeepMaxent learner (registry name `maxent`): the settings chosen on DISDAT by
    spatial-block cross-validation on training records (2 x 250, lr 2e-4, weight decay 1e-2,
    batch 256, 190 epochs)."""
    return MultiSpeciesSDM(loss="maxent", **options)


def an_full(**options) -> MultiSpeciesSDM:
    """The SINR `an_full` learner (registry name `an_full`), balanced presence weights; weight
    decay 3e-4 and 60 epochs, chosen on DISDAT as for `maxent`."""
    return MultiSpeciesSDM(loss="an_full", **{"weight_decay": 3e-4, "epochs": 60, **options})
