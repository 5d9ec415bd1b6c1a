"""The species head: its labels from the rows, its target-group background, its random
background locations."""

import numpy as np
import pytest
import torch

from geoloc.errors import GeolocError
from geoloc.sdm.presence import an_full_loss, balanced_pos_weight, maxent_loss
from geoloc.train.presence import PresenceHead, PresenceLabels

BOUNDS = (42.0, 51.0, -5.0, 8.0)


def _labels():
    species_key = np.array([30, 10, 10, 20, 30, 40, 20])
    group = np.array([7, 5, 5, 7, 7, 5, 5])  # species 20 is in both groups
    return PresenceLabels.of(species_key, group, train_rows=np.array([0, 1, 2, 3, 5]))


def test_labels_name_the_species_their_groups_and_the_training_counts():
    labels = _labels()
    assert labels.keys.tolist() == [10, 20, 30, 40]
    assert labels.group.tolist() == [1, 0, 0, 1, 1, 0, 0]
    assert labels.group_species.tolist() == [
        [True, True, False, True],  # group 5: species 10, 20, 40
        [False, True, True, False],  # group 7: species 20, 30
    ]
    assert labels.n_presence.tolist() == [2, 1, 1, 1]  # rows 4 and 6 are validation rows
    assert labels.n_group_rows.tolist() == [3, 2]
    assert labels.background_counts(n_random=10).tolist() == [13, 15, 12, 13]


def test_labels_refuse_records_without_one_species_and_one_group():
    with pytest.raises(GeolocError, match="one species and one group per record"):
        PresenceLabels.of(np.arange(5), np.zeros(4), np.arange(5))
    one_group = PresenceLabels.of(np.array([3, 1, 3]), None, np.arange(3))
    assert one_group.group_species.shape == (1, 2) and one_group.group_species.all()


@pytest.mark.parametrize("loss", ["maxent", "an_full"])
def test_the_head_scores_each_record_against_its_groups_records(loss):
    torch.manual_seed(0)
    labels = _labels()
    head = PresenceHead(4, labels, loss, BOUNDS, n_random=10)
    embedding = torch.randn(5, 4)
    species_key = torch.tensor([30, 10, 20, 20, 40])
    group = torch.tensor([1, 0, 0, 1, 0])
    random = torch.randn(3, 4)
    got = head(embedding, species_key, group, random if loss == "an_full" else None)

    logits = head.species(embedding)
    presence = torch.zeros(5, 4)
    presence[torch.arange(5), torch.tensor([2, 0, 1, 1, 3])] = 1
    background = torch.tensor(labels.group_species)[group]  # the groups' species
    if loss == "maxent":
        expected = maxent_loss(logits, presence, background)
    else:  # the random locations are negatives of every species
        logits = torch.cat([logits, head.species(random)])
        presence = torch.cat([presence, torch.zeros(3, 4)])
        background = torch.cat([background, torch.ones(3, 4, dtype=torch.bool)])
        weight = balanced_pos_weight(labels.n_presence, labels.background_counts(10))
        expected = an_full_loss(logits, presence, background, weight)
    torch.testing.assert_close(got, expected, rtol=0, atol=0)


def test_random_background_is_seeded_inside_the_bounds_and_only_for_an_full():
    labels = _labels()
    head = PresenceHead(4, labels, "an_full", BOUNDS, n_random=10)
    lat, lon = head.random_background(5000, torch.Generator().manual_seed(3))
    again = head.random_background(5000, torch.Generator().manual_seed(3))
    assert torch.equal(lat, again[0]) and torch.equal(lon, again[1])
    assert lat.min() >= 42.0 and lat.max() <= 51.0 and lon.min() >= -5.0 and lon.max() <= 8.0
    # uniform on the sphere: the mean of sin(lat) is the middle of its range
    middle = (np.sin(np.radians(42.0)) + np.sin(np.radians(51.0))) / 2
    assert torch.sin(torch.deg2rad(lat.double())).mean().item() == pytest.approx(middle, abs=2e-3)
    maxent = PresenceHead(4, labels, "maxent", BOUNDS, n_random=10)
    assert maxent.random_background(5, torch.Generator()) is None
