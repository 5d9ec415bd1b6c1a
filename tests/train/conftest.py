import pytest
from train_fixtures import synthetic_observations


@pytest.fixture
def observations():
    return synthetic_observations()
