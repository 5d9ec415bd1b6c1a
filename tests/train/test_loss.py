"""Symmetric InfoNCE: alignment, same-species masking, queue negatives, temperature clamp."""

import math

import torch
import torch.nn.functional as F

from geoloc.train.loss import ContrastiveLoss


def _pairs(b=8, d=16, seed=0):
    g = torch.Generator().manual_seed(seed)
    x = F.normalize(torch.randn(b, d, generator=g), dim=1)
    y = F.normalize(torch.randn(b, d, generator=g), dim=1)
    return x, y


def test_perfect_alignment_gives_low_loss_random_gives_log_b():
    eye = torch.eye(8)
    loss = ContrastiveLoss(temperature=0.01, mask_same_species=False)
    assert loss(eye, eye).item() < 1e-3
    x, y = _pairs(256, 64)
    random = ContrastiveLoss(temperature=1.0, mask_same_species=False)(x, y).item()
    assert abs(random - math.log(256)) < 0.2


def test_same_species_pairs_are_not_negatives():
    x, y = _pairs()
    species = torch.tensor([0, 0, 1, 2, 3, 4, 5, 6])
    masked = ContrastiveLoss(temperature=0.5)(x, y, species)
    # reference: drop the other same-species column by hand for rows 0 and 1
    logits = 2.0 * x @ y.T
    logits[0, 1] = logits[1, 0] = float("-inf")
    logits_t = 2.0 * y @ x.T
    logits_t[0, 1] = logits_t[1, 0] = float("-inf")
    targets = torch.arange(8)
    expected = 0.5 * (F.cross_entropy(logits, targets) + F.cross_entropy(logits_t, targets))
    torch.testing.assert_close(masked, expected)
    unmasked = ContrastiveLoss(temperature=0.5, mask_same_species=False)(x, y, species)
    assert not torch.allclose(masked, unmasked)
    # distinct species everywhere: masking changes nothing
    distinct = torch.arange(8)
    torch.testing.assert_close(
        ContrastiveLoss(temperature=0.5)(x, y, distinct),
        ContrastiveLoss(temperature=0.5, mask_same_species=False)(x, y),
    )


def test_queue_adds_location_negatives():
    x, y = _pairs()
    queue, _ = _pairs(32, seed=1)
    loss = ContrastiveLoss(temperature=0.5, mask_same_species=False)
    base, with_queue = loss(x, y), loss(x, y, queue_loc=queue)
    assert with_queue > base
    # a queued copy of location 0 is a negative for every row except row 0 (same species)
    species = torch.arange(8)
    masked = ContrastiveLoss(temperature=0.5)(
        x, y, species, queue_loc=x[:1].clone(), queue_species=species[:1]
    )
    img_to_loc = 2.0 * y @ torch.cat([x, x[:1]]).T
    img_to_loc[0, 8] = float("-inf")
    targets = torch.arange(8)
    expected = 0.5 * (
        F.cross_entropy(2.0 * x @ y.T, targets) + F.cross_entropy(img_to_loc, targets)
    )
    torch.testing.assert_close(masked, expected)
