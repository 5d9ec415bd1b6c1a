"""The presence-only losses against their formulas written out site by site, and their masks."""

from typing import get_args

import numpy as np
import pytest
import torch

from geoloc.errors import GeolocError
from geoloc.params import PresenceLoss
from geoloc.sdm.presence import (
    LOSS_NAMES,
    an_full_loss,
    balanced_pos_weight,
    maxent_loss,
    presence_loss,
    presence_matrix,
    target_group_mask,
)


def _case(seed=0, sites=7, species=4):
    """Logits, a presence matrix with species 3 absent, a mask missing some presence sites."""
    rng = np.random.default_rng(seed)
    f = rng.normal(size=(sites, species))
    y = np.zeros((sites, species))
    y[[0, 1, 2, 4], [0, 0, 1, 2]] = 1
    m = rng.random((sites, species)) < 0.6
    m[0, 0] = False  # a presence outside the mask still counts as background
    return f, y, m


def _tensors(f, y, m):
    return torch.tensor(f), torch.tensor(y), torch.tensor(m)


def _maxent_direct(f, y, m):
    terms = []
    for s in range(f.shape[1]):
        sites = [i for i in range(len(f)) if y[i, s]]
        if not sites:
            continue
        background = [f[i, s] for i in range(len(f)) if m[i, s] or y[i, s]]
        fitted = sum(f[i, s] for i in sites) / len(sites)
        terms.append(np.log(np.sum(np.exp(background))) - fitted)
    return np.mean(terms)


def _an_full_direct(f, y, m, pos_weight):
    total, count = 0.0, 0
    for i in range(f.shape[0]):
        for s in range(f.shape[1]):
            if not (m[i, s] or y[i, s]):
                continue
            p = 1 / (1 + np.exp(-f[i, s]))
            total += -pos_weight[s] * np.log(p) if y[i, s] else -np.log(1 - p)
            count += 1
    return total / count


def test_maxent_equals_the_normalised_poisson_loss_written_out():
    f, y, m = _case()
    got = maxent_loss(*_tensors(f, y, m)).item()
    assert got == pytest.approx(_maxent_direct(f, y, m), rel=1e-12)


def test_an_full_equals_the_weighted_cross_entropy_written_out():
    f, y, m = _case(seed=1)
    weights = np.array([3.0, 0.5, 2.0, 7.0])
    got = an_full_loss(*_tensors(f, y, m), torch.tensor(weights)).item()
    assert got == pytest.approx(_an_full_direct(f, y, m, weights), rel=1e-12)
    one = an_full_loss(*_tensors(f, y, m), 2.0).item()
    assert one == pytest.approx(_an_full_direct(f, y, m, np.full(4, 2.0)), rel=1e-12)


@pytest.mark.parametrize("name", LOSS_NAMES)
def test_entries_outside_the_mask_change_nothing_and_get_no_gradient(name):
    f, y, m = _case(seed=2)
    logits, presence, mask = _tensors(f, y, m)
    logits.requires_grad_(True)
    loss = presence_loss(name, logits, presence, mask, 1.5)
    loss.backward()
    outside = ~mask & (presence == 0)
    assert (logits.grad[outside] == 0).all() and (logits.grad[~outside] != 0).any()
    moved = logits.detach() + 5.0 * outside
    assert presence_loss(name, moved, presence, mask, 1.5).item() == pytest.approx(loss.item())
    # a presence outside the mask is part of the background: it has a gradient
    assert logits.grad[0, 0] != 0 and not m[0, 0]


def test_maxent_ignores_absent_species_and_is_zero_without_presences():
    f, y, m = _case()
    logits, presence, mask = _tensors(f, y, m)
    moved = logits.clone()
    moved[:, 3] += 10.0  # species 3 has no presence in the batch
    assert maxent_loss(moved, presence, mask).item() == maxent_loss(logits, presence, mask).item()
    empty = torch.zeros_like(presence)
    assert maxent_loss(logits, empty, mask).item() == 0.0


def test_target_group_mask_from_ids_or_memberships():
    species_groups = torch.tensor([[1, 0], [1, 0], [0, 1], [1, 1]], dtype=torch.bool)  # (S, G)
    ids = torch.tensor([0, 1, 1, 0])
    expected = torch.tensor(
        [[species_groups[s, g] for s in range(4)] for g in ids.tolist()], dtype=torch.bool
    )
    assert torch.equal(target_group_mask(ids, species_groups), expected)
    sites = torch.tensor([[1, 0], [0, 1], [1, 1], [0, 0]], dtype=torch.bool)  # (B, G)
    both = target_group_mask(sites, species_groups)
    assert both[2].all() and not both[3].any()
    assert both[0].tolist() == [True, True, False, True]


def test_presence_matrix_and_balanced_weights():
    y = presence_matrix(torch.tensor([2, 0, 2]), 3)
    assert y.tolist() == [[0, 0, 1], [1, 0, 0], [0, 0, 1]]
    weight = balanced_pos_weight([2, 0, 5], [10, 8, 5]).tolist()
    assert weight == pytest.approx([4.0, 8.0, 1e-3])


def test_the_names_are_the_params_names_and_others_are_refused():
    assert get_args(PresenceLoss) == LOSS_NAMES
    f, y, m = _tensors(*_case())
    with pytest.raises(GeolocError, match="unknown presence loss 'poisson'"):
        presence_loss("poisson", f, y, m)
