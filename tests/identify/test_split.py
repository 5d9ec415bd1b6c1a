"""The stratified train/validation/test split."""

from __future__ import annotations

import numpy as np
import pytest

from geoloc.errors import GeolocError
from geoloc.identify.split import stratified_split


def test_split_is_stratified_deterministic_and_partitions():
    labels = np.repeat(np.arange(5), [200, 80, 30, 10, 3])
    a = stratified_split(labels, 0.15, 0.15, seed=7)
    b = stratified_split(labels, 0.15, 0.15, seed=7)
    c = stratified_split(labels, 0.15, 0.15, seed=8)
    for x, y in zip(a, b, strict=True):
        np.testing.assert_array_equal(x, y)
    assert not np.array_equal(a[0], c[0])
    assert np.array_equal(np.sort(np.concatenate(a)), np.arange(len(labels)))
    for cls, n in enumerate([200, 80, 30, 10, 3]):
        n_val, n_test = (np.sum(labels[p] == cls) for p in a[1:])
        assert n_val >= 1 and n_test >= 1  # every class is evaluated, rare ones too
        assert abs(n_val - 0.15 * n) <= 1 and abs(n_test - 0.15 * n) <= 1


def test_split_rejects_bad_fractions():
    with pytest.raises(GeolocError):
        stratified_split(np.zeros(10), 0.6, 0.5, seed=0)
