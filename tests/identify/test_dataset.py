"""A dataset's labelled embeddings: rare species marked, every species in the test split."""

from __future__ import annotations

import pytest

from geoloc.errors import GeolocError
from geoloc.identify.dataset import prepare_data, split_counts
from geoloc.params import IdentifyParams
from tests.identify.identify_data import COUNTS, make_dataset


def test_prepare_data_marks_rare_species_and_tests_every_one():
    table, taxonomy = make_dataset(dim=8)
    data = prepare_data(table, taxonomy, IdentifyParams(rare_max_count=50))
    assert data.rare_mask.tolist() == [count <= 50 for count in COUNTS]
    assert sorted(set(data.y[data.test])) == list(range(len(COUNTS)))
    counts = split_counts(data)
    assert counts["n_obs"] == sum(COUNTS) == counts["n_train"] + counts["n_val"] + counts["n_test"]
    assert (counts["n_common"], counts["n_rare"]) == (4, 4)


def test_prepare_data_rejects_a_dataset_too_small_to_split():
    table, taxonomy = make_dataset(dim=8)
    two_each = taxonomy.groupby("species_key").head(2)
    with pytest.raises(GeolocError, match="too few observations per species"):
        prepare_data(table, two_each, IdentifyParams())
