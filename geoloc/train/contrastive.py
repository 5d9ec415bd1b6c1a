"""What the trainer optimises: the location encoder with a linear head on the paired features
and the loss, a queue of past locations as extra negatives (GeoCLIP), and coordinate jitter."""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn

from geoloc.encoders.location_encoder import LocationEncoder
from geoloc.geometry import KM_PER_DEGREE
from geoloc.train.loss import ContrastiveLoss


class ContrastiveModel(nn.Module):
    """Location encoder + linear projection of the paired features + the loss (and its T)."""

    def __init__(self, encoder: LocationEncoder, feature_dim: int, loss: ContrastiveLoss):
        super().__init__()
        self.encoder = encoder
        self.image_head = nn.Linear(feature_dim, encoder.dim)
        self.loss = loss

    def embed_locations(self, lat, lon):
        return F.normalize(self.encoder.embed(lat, lon).float(), dim=1)

    def embed_features(self, features):
        return F.normalize(self.image_head(features).float(), dim=1)

    def forward(self, lat, lon, features, species=None, queue=None):
        return self.pair_loss(self.embed_locations(lat, lon), features, species, queue)

    def pair_loss(self, loc, features, species=None, queue=None, *, local: bool = False):
        """The loss of the embedded locations `loc` against their paired `features`; `queue`:
        past (lat, lon, species) as extra negatives; `local`: see ContrastiveLoss."""
        img = self.embed_features(features)
        queue_loc = queue_species = None
        if queue is not None:
            queue_loc = self.embed_locations(queue[0], queue[1])
            queue_species = queue[2]
        return self.loss(loc, img, species, queue_loc, queue_species, local=local)


class LocationQueue:
    """Ring buffer of past (lat, lon, species) on the device: extra negatives (GeoCLIP)."""

    def __init__(self, size: int, device: torch.device):
        self.size, self.ptr, self.filled = size, 0, 0
        self.lat = torch.zeros(size, device=device)
        self.lon = torch.zeros(size, device=device)
        self.species = torch.full((size,), -1, dtype=torch.long, device=device)

    def push(self, lat, lon, species) -> None:
        n = min(len(lat), self.size)
        idx = (torch.arange(n, device=lat.device) + self.ptr) % self.size
        self.lat[idx], self.lon[idx], self.species[idx] = lat[-n:], lon[-n:], species[-n:]
        self.ptr, self.filled = (self.ptr + n) % self.size, min(self.filled + n, self.size)

    def get(self):
        if self.filled == 0:
            return None
        return self.lat[: self.filled], self.lon[: self.filled], self.species[: self.filled]

    def state_dict(self) -> dict:
        return {k: getattr(self, k) for k in ("ptr", "filled", "lat", "lon", "species")}

    def load_state_dict(self, state: dict) -> None:
        for key, value in state.items():
            setattr(self, key, value.to(self.lat.device) if torch.is_tensor(value) else value)


def jitter(lat, lon, km: float, generator: torch.Generator):
    """Gaussian displacement of about `km` km; latitude clamped, longitude wrapped."""
    noise = torch.randn(2, len(lat), generator=generator, device=lat.device) * (km / KM_PER_DEGREE)
    lat = (lat + noise[0]).clamp(-90.0, 90.0)
    lon = lon + noise[1] / torch.cos(torch.deg2rad(lat)).clamp_min(1e-3)
    return lat, torch.remainder(lon + 180.0, 360.0) - 180.0
