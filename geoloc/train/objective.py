"""What the trainer optimises for `train.objective`: the location encoder and its training
devices, which are not part of the encoder file.

- `contrastive`: InfoNCE against the paired features through a linear image head
  (geoloc/train/contrastive.py);
- `presence`: a species head and a presence-only loss on location alone
  (geoloc/train/presence.py); the paired features are not read;
- `both`: the contrastive loss plus `train.presence_weight` x the presence loss (TaxaBind's
  weighted sum of objectives), on one forward pass of the encoder.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from geoloc.encoders.location_encoder import LocationEncoder
from geoloc.train.contrastive import ContrastiveModel
from geoloc.train.presence import PresenceHead


class ObjectiveModel(nn.Module):
    """The encoder, the contrastive part (sharing the encoder) and/or the presence head."""

    def __init__(
        self,
        encoder: LocationEncoder,
        contrastive: ContrastiveModel | None,
        presence: PresenceHead | None,
        presence_weight: float = 1.0,
    ):
        super().__init__()
        self.encoder, self.contrastive, self.presence = encoder, contrastive, presence
        self.presence_weight = presence_weight

    def forward(
        self,
        lat,
        lon,
        features,
        species,
        *,
        group=None,
        queue=None,
        background=None,
        local: bool = False,
    ) -> dict[str, torch.Tensor]:
        """The batch's `loss` (what is optimised) and, with a presence head, its
        `presence_loss`. `group`: the records' target groups; `queue`: past locations, extra
        contrastive negatives; `background`: random (lat, lon), extra presence negatives;
        `local`: contrastive negatives from this rank only (validation)."""
        embedding = self.encoder.embed(lat, lon)
        terms = {}
        if self.contrastive is not None:
            loc = F.normalize(embedding.float(), dim=1)
            terms["loss"] = self.contrastive.pair_loss(loc, features, species, queue, local=local)
        if self.presence is not None:
            random = None if background is None else self.encoder.embed(*background)
            presence = self.presence(embedding, species, group, random)
            total = terms.get("loss")
            terms["loss"] = presence if total is None else total + self.presence_weight * presence
            terms["presence_loss"] = presence
        return terms

    @property
    def temperature(self) -> float | None:
        """The contrastive temperature (None without a contrastive part)."""
        return None if self.contrastive is None else self.contrastive.loss.temperature
