"""One filter step: the DVC stage filter and `geoloc filter` write the same files."""

from __future__ import annotations

import runpy
from pathlib import Path

import yaml
from click.testing import CliRunner

from geoloc.cli import main as cli
from tests.gbif.dwca_builder import BEETLE, image, occurrence, write_archive

PARAMS = {
    "data": {
        "archive": "download.zip",
        "min_obs_per_species": 3,
        "datasets": {"plants": {"kingdom": "Plantae"}, "beetles": {"class": "Insecta"}},
    }
}


def _files(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir())}


def test_stage_and_command_write_identical_files(tmp_path, monkeypatch, repo_root):
    monkeypatch.chdir(tmp_path)
    rows = [occurrence(i) for i in range(1, 6)] + [occurrence(i, BEETLE) for i in range(10, 14)]
    rows.append(occurrence(20, countryCode="DE"))
    write_archive(Path("download.zip"), rows, [image(i) for i in [*range(1, 6), *range(10, 14)]])
    Path("params.yaml").write_text(yaml.safe_dump(PARAMS))

    stage = runpy.run_path(str(repo_root / "stages" / "filter.py"))["main"]
    result = CliRunner().invoke(stage, ["--params", "params.yaml"])
    assert result.exit_code == 0, result.output
    assert "occurrence.txt: 10 rows read, 0 malformed, 0 values not UTF-8" in result.output
    assert (  # the counts, printed by the stage as by the command
        "plants: kept 5 of 10 rows (1 species) -> data/filtered/plants.parquet; removed: "
        "country 1, taxon_group 4" in result.output
    )
    pipeline = _files(Path("data/filtered"))
    assert sorted(pipeline) == ["beetles.parquet", "plants.parquet", "report.json"]

    command = CliRunner().invoke(cli, ["filter", "--out", "cmd"])
    assert command.exit_code == 0, command.output
    assert "plants: kept 5 of 10 rows (1 species) -> cmd/plants.parquet" in command.output
    assert _files(Path("cmd")) == pipeline
    named = CliRunner().invoke(cli, ["filter", "--archive", "download.zip", "--out", "named"])
    assert named.exit_code == 0, named.output
    assert _files(Path("named")) == pipeline
