"""Shared fixtures. Real reference data lives in ../shared/data next to the checkout (or in
$GEOLOC_SHARED_DATA); tests that need it skip cleanly when it is absent."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]


def shared_data_dir() -> Path | None:
    """The read-only reference data folder, or None on a user's fresh clone."""
    candidate = Path(os.environ.get("GEOLOC_SHARED_DATA", REPO_ROOT.parent / "shared" / "data"))
    return candidate if candidate.is_dir() else None


@pytest.fixture(scope="session", autouse=True)
def one_torch_thread():
    """The tests use tiny tensors, which gain nothing from threads; on a busy 2-core machine
    spinning OpenMP threads make them 10-50x slower."""
    import torch

    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture
def shared_data() -> Path:
    path = shared_data_dir()
    if path is None:
        pytest.skip("../shared/data is not present (only on the project's own machines)")
    return path


@pytest.fixture(scope="session")
def repo_root() -> Path:
    return REPO_ROOT
