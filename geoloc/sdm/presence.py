"""Presence-only losses of a network with one output per species, on one mini-batch of sites.

Shared by the location encoder's presence objective (geoloc/train) and multi-species SDM
learners. On a batch of B sites and S species: `logits` f (B, S), `presence` Y (B, S) 0/1,
`background` M (B, S) bool, True where site i counts as background for species s. A species' own
presence sites always count as its background (M | Y), as in Maxent. Nothing here is larger than
a (B, S) block: the mask is built per batch (`target_group_mask`), never for all sites.

- `maxent` (DeepMaxent, Ryckewaert et al. 2024): the normalised Poisson loss. For a species s
  with a presence in the batch, L_s = -mean_{i: Y_is=1} f_is + logsumexp_{i: M_is} f_is; the batch
  loss is the mean of L_s over those species (0 when the batch holds no presence). f is a
  log-intensity: only its ranking of sites matters for AUC.
- `an_full` (SINR's "assume negative, full" loss, Cole et al. 2023): binary cross-entropy on the
  mask entries, presences positive with weight `pos_weight` (per species, or one number),
  every other mask entry negative with weight 1; summed and divided by the number of mask
  entries. `balanced_pos_weight` gives the positives of each species as much total weight as
  its negatives.
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F

from geoloc.errors import GeolocError


def _at_least_float32(x: torch.Tensor) -> torch.Tensor:
    """Half-precision logits (autocast) are summed in float32; float64 stays float64."""
    return x.to(torch.promote_types(x.dtype, torch.float32))


def presence_matrix(species: torch.Tensor, n_species: int) -> torch.Tensor:
    """(B, S) float 0/1 from one species index per site (a record: one species, one place)."""
    return F.one_hot(species.long(), n_species).float()


def target_group_mask(site_groups: torch.Tensor, species_groups: torch.Tensor) -> torch.Tensor:
    """(B, S) background mask of target groups: site i is background for species s when a group
    recorded at i is a group of s. `site_groups` (B, G) bool, or (B,) group ids; `species_groups`
    (S, G) bool. Costs B x G x S, G being the few taxon groups (datasets)."""
    if site_groups.dim() == 1:
        site_groups = F.one_hot(site_groups.long(), species_groups.shape[1])
    return (site_groups.float() @ species_groups.float().T) > 0


def maxent_loss(
    logits: torch.Tensor, presence: torch.Tensor, background: torch.Tensor
) -> torch.Tensor:
    """The normalised Poisson (Maxent) loss of a batch: see the module docstring."""
    n_presence = presence.sum(0)
    present = torch.nonzero(n_presence > 0).squeeze(1)
    if len(present) == 0:
        return logits.sum() * 0.0
    f = _at_least_float32(logits[:, present])
    y = presence[:, present].to(f.dtype)
    mask = background[:, present] | (y > 0)
    fitted = (f * y).sum(0) / n_presence[present]
    normaliser = torch.logsumexp(f.masked_fill(~mask, float("-inf")), dim=0)
    return (normaliser - fitted).mean()


def an_full_loss(
    logits: torch.Tensor,
    presence: torch.Tensor,
    background: torch.Tensor,
    pos_weight: torch.Tensor | float,
) -> torch.Tensor:
    """SINR's weighted "assume negative" cross-entropy of a batch: see the module docstring.
    `pos_weight`: (S,) per species or one number."""
    f = _at_least_float32(logits)
    y = presence.to(f.dtype)
    mask = (background | (y > 0)).to(f.dtype)
    pos_weight = torch.as_tensor(pos_weight, dtype=f.dtype, device=f.device)
    weights = torch.where(y > 0, pos_weight.expand_as(f), torch.ones_like(f)) * mask
    bce = F.binary_cross_entropy_with_logits(f, y, reduction="none")
    return (bce * weights).sum() / mask.sum().clamp_min(1.0)


def balanced_pos_weight(n_presence, n_background) -> torch.Tensor:
    """(S,) weights of the presences for `an_full`: a species' negatives over its presences,
    (n_background - n_presence) / n_presence, where `n_background` counts its background
    entries including its presence sites; at least 1e-3, and 1 presence for a species without."""
    n_presence = np.asarray(n_presence, dtype=np.float64)
    n_background = np.asarray(n_background, dtype=np.float64)
    weight = (n_background - n_presence) / np.maximum(n_presence, 1.0)
    return torch.as_tensor(np.maximum(weight, 1e-3), dtype=torch.float32)


LOSS_NAMES = ("maxent", "an_full")  # params train.presence_loss (geoloc.params.PresenceLoss)


def presence_loss(
    name: str,
    logits: torch.Tensor,
    presence: torch.Tensor,
    background: torch.Tensor,
    pos_weight: torch.Tensor | float = 1.0,
) -> torch.Tensor:
    """The loss called `name` (one of LOSS_NAMES); `maxent` has no use for `pos_weight`."""
    if name == "maxent":
        return maxent_loss(logits, presence, background)
    if name == "an_full":
        return an_full_loss(logits, presence, background, pos_weight)
    raise GeolocError(f"unknown presence loss {name!r}; known: {', '.join(LOSS_NAMES)}")
