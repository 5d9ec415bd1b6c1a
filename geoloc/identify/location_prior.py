"""p(species | location) from the trained location encoder, used as a prior for identification.

A linear species head sits on the frozen encoder's features and is trained on presence-only
records with SINR's "assume negative" full loss (Cole et al., "Spatial Implicit Neural
Representations for Global-Scale Species Mapping", ICML 2023): at each observed location the
observed species is pushed up (weighted by `pos_weight`) and every other species down, and at a
random background location every species is pushed down (with more species than
`identify.sampled_classes`, a sample of them, weighted so the loss stays unbiased). Its sigmoid
outputs are presence probabilities, fused with image probabilities as p(y | image, loc) ∝
p(y | image) * p(present | loc) (Mac Aodha et al., "Presence-Only Geographical Priors for
Fine-Grained Image Classification", ICCV 2019).
"""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from geoloc.identify.batches import shuffled_batches
from geoloc.identify.sampled import ClassSample, ClassSampler
from geoloc.params import IdentifyPriorParams
from geoloc.runtime import torch_threads

FEATURE_CHUNK = 65536  # places encoded at a time (the location encoder's own batch)


def random_background(
    lat: np.ndarray, lon: np.ndarray, n: int, rng: np.random.Generator
) -> tuple[np.ndarray, np.ndarray]:
    """`n` locations uniform by area inside the bounding box of the observations."""
    s0, s1 = np.sin(np.radians([lat.min(), lat.max()]))
    bg_lat = np.degrees(np.arcsin(rng.uniform(s0, s1, n)))
    bg_lon = rng.uniform(lon.min(), lon.max(), n)
    return bg_lat, bg_lon


def assume_negative_full_loss(
    logits_at_obs: torch.Tensor, targets: torch.Tensor, logits_at_bg: torch.Tensor, pos_weight
) -> torch.Tensor:
    """SINR `an_full`: mean over the batch of the summed per-species terms, divided by #species."""
    positive = F.one_hot(targets, logits_at_obs.shape[1]).bool()
    log_p = F.logsigmoid(logits_at_obs)
    log_not_p = F.logsigmoid(-logits_at_obs)
    at_obs = torch.where(positive, pos_weight * log_p, log_not_p)
    at_bg = F.logsigmoid(-logits_at_bg)
    return -(at_obs.sum(dim=1) + at_bg.sum(dim=1)).mean() / logits_at_obs.shape[1]


def assume_negative_sampled_loss(
    logits_at_obs: torch.Tensor,
    logits_at_bg: torch.Tensor,
    sample: ClassSample,
    n_species: int,
    pos_weight,
) -> torch.Tensor:
    """`an_full` with the species sums taken over the sampled species (B, K), each term weighted
    by 1 / its inclusion probability: an unbiased estimate of the full loss and its gradient."""
    positive = F.one_hot(sample.targets, logits_at_obs.shape[1]).bool()
    at_obs = torch.where(
        positive, pos_weight * F.logsigmoid(logits_at_obs), F.logsigmoid(-logits_at_obs)
    )
    terms = (at_obs + F.logsigmoid(-logits_at_bg)) * sample.weights
    return -terms.sum(dim=1).mean() / n_species


class LocationPrior:
    """Species presence head on a frozen location encoder (anything with `.encode(lat, lon)`)."""

    def __init__(self, encoder, n_species: int):
        self.encoder = encoder
        self.n_species = n_species
        self.head: nn.Linear | None = None

    def _features(self, lat, lon) -> torch.Tensor:
        feats = self.encoder.encode(np.asarray(lat, np.float64), np.asarray(lon, np.float64))
        return torch.as_tensor(np.asarray(feats), dtype=torch.float32)

    def _all_features(self, lat: np.ndarray, lon: np.ndarray) -> np.ndarray:
        """(N, encoder dim) features, encoded `FEATURE_CHUNK` places at a time into one array
        (never the encoder's per-chunk outputs and their concatenation at once)."""
        out = None
        for start in range(0, len(lat), FEATURE_CHUNK):
            part = self._features(
                lat[start : start + FEATURE_CHUNK], lon[start : start + FEATURE_CHUNK]
            )
            if out is None:
                out = np.empty((len(lat), part.shape[1]), np.float32)
            out[start : start + len(part)] = part.numpy()
        return out

    def fit(
        self,
        lat: np.ndarray,
        lon: np.ndarray,
        y: np.ndarray,
        params: IdentifyPriorParams,
        seed: int,
        sampled_classes: int,
    ):
        """Train the head on the observations (lat, lon, species y) and random background.

        The observations' features are computed once (N x encoder dim); the background points'
        (`background_per_presence` times more) are computed batch by batch from their places.
        With more species than `sampled_classes` (identify.sampled_classes) each batch's loss
        sums over a sample of them (geoloc/identify/sampled.py)."""
        torch.manual_seed(seed)
        generator = torch.Generator().manual_seed(seed)
        rng = np.random.default_rng(seed)
        obs = self._all_features(lat, lon)
        bg_lat, bg_lon = random_background(lat, lon, len(lat) * params.background_per_presence, rng)
        targets = torch.as_tensor(y, dtype=torch.long)
        pos_weight = float(params.pos_weight or self.n_species)
        self.head = nn.Linear(obs.shape[1], self.n_species)
        optim = torch.optim.Adam(self.head.parameters(), lr=params.lr)
        every = np.arange(len(obs))
        sampler = ClassSampler(self.n_species, sampled_classes, seed)
        with torch_threads(1):
            for _ in range(params.epochs):
                for batch, features in shuffled_batches(obs, every, params.batch_size, generator):
                    bg = torch.randint(len(bg_lat), (len(batch),), generator=generator).numpy()
                    at_bg = self._features(bg_lat[bg], bg_lon[bg])
                    loss = self._loss(features, at_bg, targets[batch], sampler, pos_weight)
                    optim.zero_grad()
                    loss.backward()
                    optim.step()
        return self

    def _loss(self, at_obs, at_bg, targets, sampler: ClassSampler, pos_weight) -> torch.Tensor:
        """SINR's loss on one batch: over every species, or the sampled ones when there are more
        species than the sampler's budget."""
        sample = sampler.sample(targets)
        if sample is None:
            return assume_negative_full_loss(
                self.head(at_obs), targets, self.head(at_bg), pos_weight
            )
        weight, bias = self.head.weight[sample.classes], self.head.bias[sample.classes]
        return assume_negative_sampled_loss(
            F.linear(at_obs, weight, bias),
            F.linear(at_bg, weight, bias),
            sample,
            self.n_species,
            pos_weight,
        )

    @torch.no_grad()
    def presence(self, lat: np.ndarray, lon: np.ndarray) -> np.ndarray:
        """(N, S) presence probabilities in [0, 1] (callers pass one batch of places at a time)."""
        return torch.sigmoid(self.head(self._features(lat, lon))).numpy()

    def state(self) -> dict:
        return {"n_species": self.n_species, "state_dict": self.head.state_dict()}

    @classmethod
    def from_state(cls, state: dict, encoder) -> LocationPrior:
        prior = cls(encoder, state["n_species"])
        weight = state["state_dict"]["weight"]
        prior.head = nn.Linear(weight.shape[1], weight.shape[0])
        prior.head.load_state_dict(state["state_dict"])
        return prior


def fuse(image_proba: np.ndarray, presence: np.ndarray, floor: float = 1e-6) -> np.ndarray:
    """p(y | image, loc) ∝ p(y | image) * p(present | loc), renormalised over the same classes."""
    joint = image_proba * np.maximum(presence, floor)
    return joint / joint.sum(axis=1, keepdims=True)
