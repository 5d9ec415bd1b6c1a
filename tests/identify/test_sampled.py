"""Class sampling for the training losses: exact up to the budget, seeded, and beyond it a
softmax normaliser that is unbiased and gradients that point like the full loss's."""

from __future__ import annotations

import numpy as np
import torch
import torch.nn.functional as F

from geoloc.identify.sampled import ClassSampler, sampled_cross_entropy
from tests.identify.identify_data import mean_gradient


def test_sampler_is_exact_up_to_the_budget_and_keeps_the_batch_classes_beyond_it():
    targets = torch.tensor([3, 7, 3, 11, 0])
    assert ClassSampler(12, 12, seed=0).sample(targets) is None
    sample = ClassSampler(200, 16, seed=0).sample(targets)
    own = sample.classes[:4]
    assert torch.equal(sample.classes[sample.targets], targets)
    assert set(own.tolist()) == {0, 3, 7, 11} and (sample.log_inclusion[:4] == 0).all()
    assert len(torch.unique(sample.classes)) == len(sample.classes) <= 4 + 16
    pi = 1 - (1 - 1 / 200) ** 16  # drawn at least once in 16 uniform draws
    np.testing.assert_allclose(sample.weights[4:].numpy(), 1 / pi, rtol=1e-6)


def test_sampler_draws_are_seeded():
    targets = torch.tensor([1, 2, 3])
    a, b = (ClassSampler(500, 32, seed=4).sample(targets) for _ in range(2))
    assert torch.equal(a.classes, b.classes)
    assert not torch.equal(a.classes, ClassSampler(500, 32, seed=5).sample(targets).classes)


def test_sampled_softmax_normaliser_is_unbiased_and_its_gradient_points_like_the_full_one():
    torch.manual_seed(0)
    n, budget = 300, 30
    logits, targets = 2 * torch.randn(16, n), torch.randint(n, (16,))
    sampler = ClassSampler(n, budget, seed=0)
    estimates = []
    for _ in range(2000):
        sample = sampler.sample(targets)
        corrected = logits[:, sample.classes] - sample.log_inclusion
        estimates.append(torch.logsumexp(corrected, dim=1).exp())
    torch.testing.assert_close(
        torch.stack(estimates).mean(0), torch.logsumexp(logits, dim=1).exp(), rtol=0.1, atol=0
    )

    def sampled(leaf):
        sample = sampler.sample(targets)
        return sampled_cross_entropy(leaf[:, sample.classes], sample)

    full = mean_gradient(lambda leaf: F.cross_entropy(leaf, targets), logits, 1)
    mean = mean_gradient(sampled, logits, 1000)
    assert F.cosine_similarity(mean.flatten(), full.flatten(), dim=0) > 0.95
