import pytest

from tests.train.train_fixtures import synthetic_observations


@pytest.fixture
def observations():
    return synthetic_observations()
