import numpy as np
import pytest

from geoloc.sdm.stats import bootstrap_ci, paired_difference, summarize


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
