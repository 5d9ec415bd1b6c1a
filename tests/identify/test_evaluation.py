"""Evaluation in batches: the same numbers as all at once, and memory that never holds an
(observations x species) or (species x species) array, with thousands of species."""

from __future__ import annotations

import tracemalloc

import pandas as pd
import pytest

from geoloc.identify.train import train_identifier
from geoloc.params import IdentifyParams
from tests.identify.identify_data import FourierEncoder, make_dataset, many_species

QUICK = dict(heads=["linear", "mlp"], remedies=["none", "logit_adjust"], hidden=16, epochs=3,
             lr=0.01, proto_epochs=2, target_coverage=0.8, prior={"epochs": 2})  # fmt: skip


def test_batched_evaluation_equals_the_dense_result():
    table, taxonomy = make_dataset(dim=16, text=True)
    encoder = FourierEncoder(64, 0.5)
    outcomes = [
        train_identifier(table, taxonomy, IdentifyParams(**QUICK, predict_batch=size), encoder)
        for size in (7, len(table))  # 7: many batches, the last one short; len: one batch
    ]
    batched, dense = outcomes
    assert batched.metrics["n_val"] > 7 * 10 and batched.metrics["prior_top1_gain"] is not None
    assert batched.metrics == dense.metrics
    # Scores of a batch of 7 and of one batch differ in their last float32 bit on some CPUs
    # (the matrix kernel depends on the batch's size): equal up to that, decisions unchanged.
    _assert_close(batched.details, dense.details)
    pd.testing.assert_frame_equal(batched.per_class, dense.per_class, rtol=1e-6)


def _assert_close(actual, expected, path="details"):
    """Nested dicts and lists equal, floats to a relative 1e-6."""
    assert type(actual) is type(expected), path
    if isinstance(actual, dict):
        assert actual.keys() == expected.keys(), path
        for key in actual:
            _assert_close(actual[key], expected[key], f"{path}.{key}")
    elif isinstance(actual, list):
        assert len(actual) == len(expected), path
        for i, (a, e) in enumerate(zip(actual, expected, strict=True)):
            _assert_close(a, e, f"{path}[{i}]")
    elif isinstance(actual, float):
        assert actual == pytest.approx(expected, rel=1e-6, abs=1e-12), path
    else:
        assert actual == expected, path


def test_thousands_of_species_never_allocate_observations_x_species():
    """2,000 species (1,000 common, 1,000 rare), 1,000 families, 3,000 test observations: one
    (test x species) float32 array is 24 MB and one (species x species) int32 array 16 MB, while
    what the identifier needs is O(observations x (D + k)) plus (batch x species) per batch:
    64 x 2,000 x 8 bytes = 1 MB each (measured peak: 6.6 MB, most of it proportional to the
    observations). So the traced peak above the start must stay below 12 MB, under the smallest
    forbidden array (tracemalloc sees NumPy and Python allocations; a warm-up run first takes the
    one-off import allocations out of the measurement). The code before batching peaked at 235 MB."""
    table, taxonomy = many_species(2000, (16, 6))
    small = make_dataset(dim=8)
    quick = {**QUICK, "heads": ["linear"], "remedies": ["none"], "epochs": 1, "proto_epochs": 1}
    params = IdentifyParams(
        **{**quick, "prior": {"epochs": 1}}, rare_max_count=10, predict_batch=64
    )
    train_identifier(*small, params, FourierEncoder(16, 0.5))  # warm-up: lazy imports
    tracemalloc.start()
    try:
        start = tracemalloc.get_traced_memory()[0]
        outcome = train_identifier(table, taxonomy, params, FourierEncoder(16, 0.5))
        peak = tracemalloc.get_traced_memory()[1] - start
    finally:
        tracemalloc.stop()
    metrics = outcome.metrics
    assert (metrics["n_species"], metrics["n_common"], metrics["n_test"]) == (2000, 1000, 3000)
    assert peak < 12 * 2**20, f"traced peak {peak / 2**20:.1f} MB"
    assert len(outcome.per_class) == 1000 + 2000  # every family and species, in the CSV only
    assert len(outcome.details["species_prototypes"]["confusion"]) == 50
    assert max(_list_lengths(outcome.details)) == 50  # report.json: no list grows with S
    assert metrics["proto_top1"] > 0.5  # it did learn: the bound is not met by doing nothing


def _list_lengths(value):
    """Lengths of every list nested in `value`."""
    if isinstance(value, dict):
        for item in value.values():
            yield from _list_lengths(item)
    elif isinstance(value, list):
        yield len(value)
        for item in value:
            yield from _list_lengths(item)
