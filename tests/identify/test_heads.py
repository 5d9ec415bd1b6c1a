"""The learned components: imbalance remedies, Proto-CLIP prototypes, the location prior."""

from __future__ import annotations

import numpy as np
import pytest

from geoloc.identify.classifier import EmbeddingClassifier, class_balanced_weights
from geoloc.identify.location_prior import LocationPrior, fuse
from geoloc.identify.metrics import classification_report, most_confused_pairs, top_k_accuracy
from geoloc.identify.prototypes import PrototypeClassifier
from geoloc.params import IdentifyParams, IdentifyPriorParams
from tests.identify.identify_data import FourierEncoder, make_dataset


def _imbalanced(seed=0, n_major=600, n_minor=25):
    """Two overlapping gaussians, 24:1 imbalance: a plain loss sacrifices the minority."""
    rng = np.random.default_rng(seed)
    X = np.concatenate([rng.normal(0, 1, (n_major, 8)), rng.normal(0.8, 1, (n_minor, 8))])
    y = np.r_[np.zeros(n_major, int), np.ones(n_minor, int)]
    return X.astype(np.float32), y


@pytest.mark.parametrize("remedy", ["class_balanced", "logit_adjust"])
def test_imbalance_remedy_improves_minority_recall(remedy):
    X, y = _imbalanced(0)
    Xt, yt = _imbalanced(1)
    params = IdentifyParams(epochs=15, batch_size=128, lr=1e-2, seed=0)
    recall = {}
    for name in ("none", remedy):
        pred = EmbeddingClassifier("linear", name).fit(X, y, params).predict(Xt)
        recall[name] = (pred[yt == 1] == 1).mean()
    assert recall["none"] < 0.3 and recall[remedy] > recall["none"] + 0.3


def test_class_balanced_weights_favour_rare_classes():
    w = class_balanced_weights(np.array([1000, 100, 10, 0]), beta=0.999)
    assert w[0] < w[1] < w[2] and w[3] == 0 and w[:3].mean() == pytest.approx(1.0)


def test_classifier_state_round_trip():
    X, y = _imbalanced(0, 60, 20)
    clf = EmbeddingClassifier("mlp", "logit_adjust", hidden=16)
    clf.fit(X, y, IdentifyParams(epochs=2))
    again = EmbeddingClassifier.from_state(clf.state())
    np.testing.assert_allclose(again.predict_proba(X), clf.predict_proba(X), rtol=1e-5)


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


def test_location_prior_learns_where_species_live_and_fusion_uses_it():
    table, _ = make_dataset(dim=8)
    y = table.species_key - 1000
    prior = LocationPrior(FourierEncoder(64, 0.5), 8).fit(
        table.lat, table.lon, y, IdentifyPriorParams(epochs=20, lr=3e-2), seed=0
    )
    presence = prior.presence(table.lat, table.lon)
    own = presence[np.arange(len(y)), y]
    assert presence.shape == (len(y), 8) and ((presence >= 0) & (presence <= 1)).all()
    assert (presence.argmax(1) == y).mean() > 0.5 and own.mean() > presence.mean()
    flat = np.full((len(y), 8), 1 / 8)  # an uninformative image: the prior decides
    fused = fuse(flat, presence)
    np.testing.assert_allclose(fused.sum(1), 1, rtol=1e-6)
    np.testing.assert_array_equal(fused.argmax(1), presence.argmax(1))


def test_metrics_topk_and_confused_pairs():
    y = np.array([0, 0, 1, 1, 2, 2])
    proba = np.array([[0.9, 0.1, 0], [0.2, 0.7, 0.1], [0.1, 0.8, 0.1]] * 2)
    assert top_k_accuracy(y, proba, 1) == pytest.approx(1 / 3)
    assert top_k_accuracy(y, proba, 2) == pytest.approx(4 / 6)
    report = classification_report(y, proba, ["a", "b", "c"])
    assert report["confused_pairs"][0] == {
        "true": "c",
        "pred": "b",
        "count": 2,
        "share_of_true": 1.0,
    }
    assert [r["accuracy"] for r in report["per_class"]] == [0.5, 0.5, 0.0]
    assert most_confused_pairs(np.eye(3, dtype=int), ["a", "b", "c"]) == []
