"""One demo step: the DVC stage demo and `geoloc demo` write the same bytes."""

from __future__ import annotations

import hashlib
import runpy
from pathlib import Path

import yaml
from click.testing import CliRunner

from geoloc.cli import main as cli

PARAMS = {
    "demo": {"seed": 3, "species_per_dataset": 2, "families_per_dataset": 1, "observations": 12,
             "rare_observations": [2, 3], "image_size": 16, "truth_grid_km": 80},
    "data": {"datasets": {"beetles": {"class": "Insecta"}}},
}  # fmt: skip


def _digest(folder: Path) -> str:
    h = hashlib.sha256()
    for path in sorted(p for p in folder.rglob("*") if p.is_file()):
        h.update(path.relative_to(folder).as_posix().encode() + path.read_bytes())
    return h.hexdigest()


def test_stage_and_command_write_the_same_bytes(tmp_path, monkeypatch, repo_root):
    stage = runpy.run_path(str(repo_root / "stages" / "demo.py"))["main"]
    for name, entry, args in [
        ("stage", stage, ["--params", "params.yaml"]),
        ("cmd", cli, ["demo"]),
    ]:
        (tmp_path / name).mkdir()
        monkeypatch.chdir(tmp_path / name)
        Path("params.yaml").write_text(yaml.safe_dump(PARAMS))
        result = CliRunner().invoke(entry, args)
        assert result.exit_code == 0, result.output
    assert _digest(tmp_path / "stage" / "data") == _digest(tmp_path / "cmd" / "data")
    assert sorted(p.name for p in (tmp_path / "cmd" / "data" / "raw").iterdir()) == [
        "demo.zip",
        "demo_images",
        "demo_truth.parquet",
    ]


def test_seed_option_is_the_seed_param(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    Path("params.yaml").write_text(yaml.safe_dump(PARAMS))
    for out, option in [("a", ["--seed", "5"]), ("b", ["--set", "demo.seed=5"]), ("c", [])]:
        result = CliRunner().invoke(cli, ["demo", "--out", out, *option])
        assert result.exit_code == 0, result.output
    truth = {out: Path(out, "demo_truth.parquet").read_bytes() for out in "abc"}
    assert truth["a"] == truth["b"] != truth["c"]
