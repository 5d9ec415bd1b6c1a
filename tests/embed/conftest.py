"""Fixtures for the embedding tests (helpers in embed_fixtures.py)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.embed.embed_fixtures import save_tiny_timm


@pytest.fixture(scope="session")
def tiny_timm_dir(tmp_path_factory) -> Path:
    return save_tiny_timm(tmp_path_factory.mktemp("tiny_timm"))


@pytest.fixture
def hf_offline_cache(tmp_path, monkeypatch):
    """An empty Hugging Face cache with hub access disabled; returns a function that puts a
    folder's files into it as `repo_id` (the layout hf_hub_download reads offline)."""
    import huggingface_hub.constants as hf_constants

    cache = tmp_path / "hf_cache"
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setattr(hf_constants, "HF_HUB_OFFLINE", True)
    monkeypatch.setattr(hf_constants, "HF_HUB_CACHE", str(cache))

    def add(repo_id: str, folder: Path) -> None:
        repo = cache / f"models--{repo_id.replace('/', '--')}"
        commit = "0" * 40
        snapshot = repo / "snapshots" / commit
        snapshot.mkdir(parents=True)
        for file in folder.iterdir():
            (snapshot / file.name).write_bytes(file.read_bytes())
        (repo / "refs").mkdir()
        (repo / "refs" / "main").write_text(commit)

    return add


@pytest.fixture(scope="session")
def tiny_backbone(tiny_timm_dir):
    """A 0.4M-parameter random CNN loaded through the local-folder route, at 32 px."""
    from geoloc.embed.backbones import get_backbone

    return get_backbone(str(tiny_timm_dir), image_size=32)
