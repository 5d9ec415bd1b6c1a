"""Classification heads: imbalance remedies, class-balanced weights, saved state."""

from __future__ import annotations

import numpy as np
import pytest

from geoloc.identify.classifier import EmbeddingClassifier, class_balanced_weights
from geoloc.params import IdentifyParams


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
