"""Small tensors only here: one intra-op thread is faster than several fighting over a busy CPU
(and keeps timings stable when other test processes run beside these)."""

import pytest
import torch
from train_fixtures import synthetic_observations


@pytest.fixture(autouse=True)
def _single_thread():
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture
def observations():
    return synthetic_observations()
