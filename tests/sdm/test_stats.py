import numpy as np
import pytest
from sklearn.metrics import roc_auc_score

from geoloc.sdm.stats import auc, bootstrap_ci, grouped_auc, paired_difference, summarize


def test_auc_agrees_with_sklearn_and_the_rank_definition():
    rng = np.random.default_rng(0)
    labels = rng.random(300) < 0.3
    scores = np.round(rng.normal(size=300) + labels, 1)  # ties included
    pos, neg = scores[labels], scores[~labels]
    pairs = (pos[:, None] > neg[None, :]).mean() + 0.5 * (pos[:, None] == neg[None, :]).mean()
    assert auc(labels, scores) == pytest.approx(roc_auc_score(labels, scores))
    assert auc(labels, scores) == pytest.approx(pairs)
    assert np.isnan(auc(np.ones(5), np.arange(5)))


def test_grouped_auc_is_each_groups_own_auc_in_one_pass():
    rng = np.random.default_rng(1)
    groups = rng.integers(0, 6, 2000)
    labels = rng.random(2000) < 0.2 + 0.1 * groups
    scores = np.round(rng.normal(size=2000) + labels * groups / 3, 1).astype(np.float32)
    labels[groups == 4] = False  # one class only: NaN
    shuffled = rng.permutation(2000)  # pairs in any order
    out = grouped_auc(groups[shuffled], labels[shuffled], scores[shuffled], n_groups=7)
    assert out.shape == (7,) and np.isnan(out[4]) and np.isnan(out[6])  # 6: no pairs at all
    for g in (0, 1, 2, 3, 5):
        rows = groups == g
        assert out[g] == pytest.approx(roc_auc_score(labels[rows], scores[rows]), abs=1e-12)


def test_summary_of_known_values():
    values = np.array([0.6, 0.7, 0.8, np.nan])
    out = summarize(values, n_boot=500, seed=0)
    assert out["mean"] == pytest.approx(0.7)
    assert out["median"] == pytest.approx(0.7)
    assert out["n"] == 3
    assert 0.6 - 1e-9 <= out["ci_low"] < 0.7 < out["ci_high"] <= 0.8 + 1e-9


def test_ci_matches_the_normal_approximation_for_many_values():
    values = np.random.default_rng(0).normal(0.75, 0.1, 400)
    low, high = bootstrap_ci(values, n_boot=4000, seed=1)
    half = 1.96 * values.std() / np.sqrt(len(values))
    assert (high - low) / 2 == pytest.approx(half, rel=0.1)
    assert (low + high) / 2 == pytest.approx(values.mean(), abs=0.003)


def test_constant_values_have_a_zero_width_ci():
    assert bootstrap_ci(np.full(10, 0.8)) == pytest.approx((0.8, 0.8))
    assert np.isnan(bootstrap_ci(np.array([np.nan]))[0])


def test_paired_difference_counts_wins_and_losses():
    a = np.array([0.9, 0.8, 0.7, 0.6, np.nan])
    b = np.array([0.8, 0.8, 0.75, 0.5, 0.5])
    out = paired_difference(a, b, n_boot=500)
    assert out["mean"] == pytest.approx((0.1 + 0 - 0.05 + 0.1) / 4)
    assert (out["wins"], out["losses"], out["ties"], out["n"]) == (2, 1, 1, 4)
    assert out["ci_low"] <= out["mean"] <= out["ci_high"]
