"""The location prior learns where species live, and fusion uses it."""

from __future__ import annotations

import numpy as np

from geoloc.identify.location_prior import LocationPrior, fuse
from geoloc.params import IdentifyPriorParams
from tests.identify.identify_data import FourierEncoder, make_dataset


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
