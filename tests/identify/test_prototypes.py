"""Proto-CLIP prototypes: the text blend when names are embedded, visual only otherwise."""

from __future__ import annotations

import numpy as np
import pytest

from geoloc.identify.prototypes import PrototypeClassifier
from geoloc.params import IdentifyParams
from tests.identify.identify_data import make_dataset


def test_prototypes_blend_text_when_given_and_skip_it_cleanly_otherwise():
    table, _ = make_dataset(dim=16, text=True)
    y = table.species_key - 1000
    params = IdentifyParams(proto_epochs=3, batch_size=256, proto_lr=1e-2)
    n = int(y.max()) + 1
    text = table.text.embedding.copy()
    text[3] = np.nan  # a species without a name embedding falls back to its visual prototype
    with_text = PrototypeClassifier().fit(table.embedding, y, n, params, text=text)
    assert with_text.uses_text and 0 < with_text.visual_weight < 1
    assert with_text.learned_temperature != pytest.approx(0.05)  # the temperature is learned
    without = PrototypeClassifier().fit(table.embedding, y, n, params, text=None)
    assert not without.uses_text and without.visual_weight == 1.0
    for proto in (with_text, without):
        p = proto.predict_proba(table.embedding)
        assert np.allclose(p.sum(1), 1) and (p.argmax(1) == y).mean() > 0.8
        again = PrototypeClassifier.from_state(proto.state())
        np.testing.assert_allclose(again.predict_proba(table.embedding), p, rtol=1e-5)
