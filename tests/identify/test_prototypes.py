"""Proto-CLIP prototypes: the text blend when names are embedded, visual only otherwise; training
on sampled classes."""

from __future__ import annotations

import numpy as np
import pytest
import torch

from geoloc.identify.prototypes import PrototypeClassifier, PrototypeNet
from geoloc.params import IdentifyParams
from tests.identify.identify_data import make_dataset, many_species, split_in_two


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


@pytest.mark.parametrize("with_text", [False, True])
def test_scores_of_some_classes_are_those_columns_of_the_full_scores(with_text):
    torch.manual_seed(0)
    text = torch.randn(30, 8)
    text[4] = float("nan")  # a species without a name embedding
    net = PrototypeNet(torch.randn(30, 8), text if with_text else None, 0.1)
    x, classes = torch.randn(5, 8), torch.tensor([4, 17, 0, 29])
    torch.testing.assert_close(net(x, classes), net(x)[:, classes], rtol=1e-6, atol=1e-6)


def test_prototypes_on_sampled_classes_learn_like_full_and_are_deterministic():
    table, _ = many_species(60, (30, 20), dim=16)
    X, y = table.embedding, table.species_key - 1000
    train, test = split_in_two(table)
    full = IdentifyParams(proto_epochs=4, batch_size=64, proto_lr=1e-2)
    sampled = full.model_copy(update={"sampled_classes": 8})
    fits = [
        PrototypeClassifier().fit(X, y[train], 60, p, rows=train) for p in (full, sampled, sampled)
    ]
    accuracy = [(f.predict_proba(X[test]).argmax(1) == y[test]).mean() for f in fits]
    assert not torch.equal(fits[0].net.visual, fits[1].net.visual)  # sampling did run
    assert torch.equal(fits[1].net.visual, fits[2].net.visual)
    assert fits[1].learned_temperature == fits[2].learned_temperature
    assert accuracy[0] > 0.9 and accuracy[1] > accuracy[0] - 0.05
