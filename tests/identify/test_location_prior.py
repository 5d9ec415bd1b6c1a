"""The location prior learns where species live, and fusion uses it; its loss on sampled species
is the full one when all are sampled and unbiased otherwise."""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F

from geoloc.identify.location_prior import (
    LocationPrior,
    assume_negative_full_loss,
    assume_negative_sampled_loss,
    fuse,
)
from geoloc.identify.sampled import ClassSampler
from geoloc.params import IdentifyPriorParams
from tests.identify.identify_data import FourierEncoder, every_class, make_dataset, mean_gradient


def test_location_prior_learns_where_species_live_and_fusion_uses_it():
    table, _ = make_dataset(dim=8)
    y = table.species_key - 1000
    prior = LocationPrior(FourierEncoder(64, 0.5), 8).fit(
        table.lat,
        table.lon,
        y,
        IdentifyPriorParams(epochs=20, lr=3e-2),
        seed=0,
        sampled_classes=1024,
    )
    presence = prior.presence(table.lat, table.lon)
    own = presence[np.arange(len(y)), y]
    assert presence.shape == (len(y), 8) and ((presence >= 0) & (presence <= 1)).all()
    assert (presence.argmax(1) == y).mean() > 0.5 and own.mean() > presence.mean()
    flat = np.full((len(y), 8), 1 / 8)  # an uninformative image: the prior decides
    fused = fuse(flat, presence)
    np.testing.assert_allclose(fused.sum(1), 1, rtol=1e-6)
    np.testing.assert_array_equal(fused.argmax(1), presence.argmax(1))


def test_sinr_sampled_loss_over_every_species_is_the_full_loss():
    torch.manual_seed(0)
    obs, bg, targets = torch.randn(16, 25), torch.randn(16, 25), torch.randint(25, (16,))
    sample = every_class(targets, 25)
    full = assume_negative_full_loss(obs, targets, bg, 25.0)
    sampled = assume_negative_sampled_loss(
        obs[:, sample.classes], bg[:, sample.classes], sample, 25, 25.0
    )
    torch.testing.assert_close(sampled, full, rtol=1e-6, atol=1e-6)


def test_sinr_sampled_loss_gradient_is_unbiased():
    torch.manual_seed(0)
    n, budget = 400, 40
    logits, targets = torch.randn(16, n), torch.randint(n, (8,))  # 8 observations, 8 background
    sampler = ClassSampler(n, budget, seed=0)

    def sampled(leaf):
        sample = sampler.sample(targets)
        at_obs, at_bg = leaf[:8, sample.classes], leaf[8:, sample.classes]
        return assume_negative_sampled_loss(at_obs, at_bg, sample, n, float(n))

    def full(leaf):
        return assume_negative_full_loss(leaf[:8], targets, leaf[8:], float(n))

    exact, mean = mean_gradient(full, logits, 1), mean_gradient(sampled, logits, 3000)
    # a species is sampled ~10% of the time: compare each row's total, then the directions
    torch.testing.assert_close(mean.sum(dim=1), exact.sum(dim=1), rtol=0.05, atol=0)
    assert F.cosine_similarity(mean.flatten(), exact.flatten(), dim=0) > 0.99


def test_location_prior_on_sampled_species_still_learns_where_they_live():
    table, _ = make_dataset(dim=8)
    y = table.species_key - 1000
    params = IdentifyPriorParams(epochs=20, lr=3e-2)
    fits = [
        LocationPrior(FourierEncoder(64, 0.5), 8).fit(table.lat, table.lon, y, params, 0, budget)
        for budget in (8, 3, 3)
    ]
    hits = [(p.presence(table.lat, table.lon).argmax(1) == y).mean() for p in fits]
    assert not torch.equal(fits[0].head.weight, fits[1].head.weight)  # sampling did run
    assert torch.equal(fits[1].head.weight, fits[2].head.weight)
    assert hits[0] > 0.5 and hits[1] > hits[0] - 0.1
