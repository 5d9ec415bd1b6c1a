"""Classification heads: imbalance remedies, class-balanced weights, saved state, sampled classes."""

from __future__ import annotations

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from geoloc.identify.classifier import (
    EmbeddingClassifier,
    build_head,
    class_balanced_weights,
    class_logits,
)
from geoloc.identify.sampled import sampled_cross_entropy
from geoloc.params import IdentifyParams
from tests.identify.identify_data import every_class, many_species, split_in_two


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


@pytest.mark.parametrize("kind", ["linear", "mlp"])
@pytest.mark.parametrize("class_weight", [False, True])
def test_sampled_softmax_over_every_class_is_the_full_softmax(kind, class_weight):
    torch.manual_seed(0)
    model, x = build_head(kind, 8, 20, 16).eval(), torch.randn(32, 8)
    targets = torch.randint(20, (32,))
    shift = torch.randn(20)  # the logit adjustment, gathered per class
    weight = torch.rand(20) if class_weight else None
    sample = every_class(targets, 20)
    full = F.cross_entropy(model(x) + shift, targets, weight=weight)
    sampled = sampled_cross_entropy(
        class_logits(model, x, sample.classes) + shift[sample.classes], sample, weight
    )
    torch.testing.assert_close(sampled, full, rtol=1e-6, atol=1e-6)


@pytest.mark.parametrize("remedy", ["none", "class_balanced", "logit_adjust"])
def test_classifier_on_sampled_classes_learns_like_full_and_is_deterministic(remedy):
    table, _ = many_species(60, (30, 20), dim=16)
    X, y = table.embedding, table.species_key - 1000
    train, test = split_in_two(table)
    full = IdentifyParams(epochs=6, batch_size=64, lr=1e-2)  # 60 classes <= 1024: exact
    sampled = full.model_copy(update={"sampled_classes": 8})
    fits = [
        EmbeddingClassifier("linear", remedy).fit(X, y[train], p, 60, rows=train)
        for p in (full, sampled, sampled)
    ]
    accuracy = [(f.predict(X[test]) == y[test]).mean() for f in fits]
    weights = [f.model.weight for f in fits]
    assert not torch.equal(weights[0], weights[1]) and torch.equal(weights[1], weights[2])
    assert accuracy[0] > 0.9 and accuracy[1] > accuracy[0] - 0.05
