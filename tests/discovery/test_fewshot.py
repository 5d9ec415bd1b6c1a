"""Few-shot episodes and classifiers on separable synthetic embeddings."""

import numpy as np
import pytest

from geoloc.discovery import fewshot
from geoloc.errors import GeolocError


def _data(n_classes=8, per_class=20, spread=0.3, seed=0):
    rng = np.random.default_rng(seed)
    centres = rng.normal(size=(n_classes, 32))
    labels = np.repeat(np.arange(n_classes), per_class)
    return centres[labels] + spread * rng.normal(size=(len(labels), 32)), labels


def test_episode_has_n_way_classes_and_k_shots():
    x, y = _data()
    s, q = fewshot.sample_episode(y, 5, 2, 3, np.random.default_rng(0))
    assert len(s) == 10 and len(q) == 15 and not set(s) & set(q)
    assert set(y[s]) == set(y[q]) and len(set(y[s])) == 5


def test_all_methods_near_perfect_on_separable_data():
    x, y = _data()
    out = fewshot.evaluate_fewshot(x, y, n_way=5, k_shot=1, episodes=30)
    for m in fewshot.METHODS:
        assert out[f"{m}_acc"] > 0.95
        assert 0 <= out[f"{m}_ci95"] < 0.05


def test_methods_at_chance_on_random_labels():
    x, _ = _data()
    y = np.random.default_rng(5).permutation(np.repeat(np.arange(8), 20))
    out = fewshot.evaluate_fewshot(x, y, n_way=4, k_shot=5, episodes=40, methods=["prototypical"])
    assert 0.1 < out["prototypical_acc"] < 0.45  # chance is 0.25


def test_prototypical_centres_on_support_mean():
    # a shared offset dominates raw cosine; centring removes it
    support = np.array([[10, 1.0], [10, -1.0]])
    query = np.array([[10, 0.5], [10, -0.4]])
    assert list(fewshot.prototypical(support, np.array([0, 1]), query)) == [0, 1]


def test_too_few_samples_is_a_user_error():
    x, y = _data(per_class=3)
    with pytest.raises(GeolocError, match="needs 5 classes"):
        fewshot.evaluate_fewshot(x, y, k_shot=1, n_query=5, episodes=1)


def test_metrics_for_every_k_shot_under_flat_keys():
    from geoloc.params import FewshotParams

    x, y = _data()
    p = FewshotParams(k_shot=[1, 3], episodes=10, methods=["matching"])
    out = fewshot.fewshot_metrics(x, y, p, seed=4)
    assert set(out) == {f"matching_{k}shot_{s}" for k in (1, 3) for s in ("acc", "ci95")}
    single = fewshot.evaluate_fewshot(x, y, k_shot=3, episodes=10, methods=["matching"], seed=4)
    assert out["matching_3shot_acc"] == single["matching_acc"]
