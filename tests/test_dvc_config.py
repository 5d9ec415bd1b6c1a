"""The repository's DVC config: a link type that cannot corrupt the cache, no default remote."""

from __future__ import annotations

import configparser
from pathlib import Path

CONFIG = Path(__file__).resolve().parents[1] / ".dvc" / "config"


def _config() -> configparser.ConfigParser:
    parser = configparser.ConfigParser(inline_comment_prefixes=("#",))
    parser.read(CONFIG)
    return parser


def test_cache_never_links_workspace_files_to_cache_objects():
    link_types = _config()["cache"]["type"].strip('"').split(",")
    assert link_types and set(link_types) <= {"reflink", "copy"}, link_types


def test_no_default_remote_a_fresh_clone_cannot_reach():
    assert "remote" not in _config()["core"], "docs/remote.md: users set their own remote"


def test_dvc_files_are_as_dvc_writes_them():
    """A .dvc file whose recorded md5 is not DVC's own is rewritten by the next `dvc exp run`
    or `dvc repro`, leaving a fresh clone's tree dirty."""
    from dvc.repo import Repo

    repo = Repo(str(CONFIG.parents[1]))

    root = CONFIG.parents[1]
    files = sorted(
        path
        for path in root.rglob("*.dvc")
        if path.is_file()
        and not {".venv", ".dvc", "node_modules"} & set(path.relative_to(root).parts)
    )
    assert files
    for path in files:
        (stage,) = repo.stage.load_file(str(path))
        assert stage.md5 == stage.compute_md5(), path
