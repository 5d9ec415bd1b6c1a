"""Symmetric InfoNCE between location and image embeddings (CLIP; SatCLIP's loss).

The temperature is learned (as log 1/T) and clamped to [min_temperature, 1]. Options from the
peers: extra location negatives from a queue of past coordinates (GeoCLIP), and same-species pairs
removed from the negatives (TaxaBind) so two photos of one species are not pushed apart. Under DDP
the negatives are the global batch (gathered with gradient).
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from geoloc.train import distributed


def _mask_same_species(logits, species, other_species, targets):
    """-inf where the column shares the row's species, except the positive itself."""
    same = species.unsqueeze(1) == other_species.unsqueeze(0)
    same[torch.arange(len(targets), device=logits.device), targets] = False
    return logits.masked_fill(same, float("-inf"))


class ContrastiveLoss(nn.Module):
    def __init__(
        self,
        temperature: float = 0.07,
        min_temperature: float = 0.01,
        mask_same_species: bool = True,
    ):
        super().__init__()
        self.logit_scale = nn.Parameter(torch.tensor(math.log(1.0 / temperature)))
        self.max_scale = 1.0 / min_temperature
        self.mask_same_species = mask_same_species

    def scale(self) -> torch.Tensor:
        return self.logit_scale.exp().clamp(1.0, self.max_scale)

    @property
    def temperature(self) -> float:
        return 1.0 / self.scale().item()

    def forward(
        self,
        loc: torch.Tensor,
        img: torch.Tensor,
        species: torch.Tensor | None = None,
        queue_loc: torch.Tensor | None = None,
        queue_species: torch.Tensor | None = None,
        *,
        local: bool = False,
    ) -> torch.Tensor:
        """loc, img: (B, d) L2-normalised rows of matching pairs on this rank; `local`: the
        negatives are this rank's rows only (validation, where every rank holds the same set)."""
        gather = (lambda x: x) if local else distributed.gather
        gather_with_grad = (lambda x: x) if local else distributed.gather_with_grad
        rank = 0 if local else distributed.rank()
        all_loc, all_img = gather_with_grad(loc), gather_with_grad(img)
        targets = torch.arange(len(loc), device=loc.device) + rank * len(loc)
        scale = self.scale()
        loc_negatives = all_loc if queue_loc is None else torch.cat([all_loc, queue_loc])
        loc_to_img = scale * loc.float() @ all_img.float().T
        img_to_loc = scale * img.float() @ loc_negatives.float().T
        if self.mask_same_species and species is not None:
            all_species = gather(species)
            neg_species = (
                all_species if queue_species is None else torch.cat([all_species, queue_species])
            )
            loc_to_img = _mask_same_species(loc_to_img, species, all_species, targets)
            img_to_loc = _mask_same_species(img_to_loc, species, neg_species, targets)
        return 0.5 * (F.cross_entropy(loc_to_img, targets) + F.cross_entropy(img_to_loc, targets))
