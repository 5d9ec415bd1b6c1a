"""One embed step: the DVC stage embed@<ds> and `geoloc embed` write the same file."""

from __future__ import annotations

import runpy
from pathlib import Path

import yaml
from click.testing import CliRunner

from geoloc.cli import main as cli
from tests.embed.embed_fixtures import observation_table, write_jpegs


def test_stage_and_command_write_identical_files(tmp_path, monkeypatch, tiny_timm_dir, repo_root):
    monkeypatch.chdir(tmp_path)
    urls = write_jpegs(tmp_path / "img", 10)
    urls[3] = str(tmp_path / "img" / "gone.jpg")  # one failure, recorded by both
    Path("data/filtered").mkdir(parents=True)
    observation_table(urls).to_parquet("data/filtered/plants.parquet")
    embed = {"backbone": str(tiny_timm_dir), "image_size": 32, "batch_size": 4, "workers": 2}
    params = {
        "data": {"datasets": {"plants": {"kingdom": "Plantae"}}},
        "embed": {**embed, "cpu_threads": 1},
        "runtime": {"device": "cpu"},
    }
    Path("params.yaml").write_text(yaml.safe_dump(params))
    Path("bare.yaml").write_text(yaml.safe_dump({"data": params["data"]}))

    stage = runpy.run_path(str(repo_root / "stages" / "embed.py"))["main"]
    result = CliRunner().invoke(stage, ["--params", "params.yaml", "--dataset", "plants"])
    assert result.exit_code == 0, result.output
    pipeline = Path("data/embeddings/plants.h5").read_bytes()
    assert not Path(".dvc/tmp/embed/plants").exists()  # the stage's work log, merged

    same = CliRunner().invoke(cli, ["embed", "--dataset", "plants", "--out", "cmd.h5"])
    assert same.exit_code == 0, same.output
    assert "embedded 9, failed 1" in same.output
    assert Path("cmd.h5").read_bytes() == pipeline
    # the path options and the param shortcuts / --set give the same file from bare params
    shortcuts = ["--backbone", str(tiny_timm_dir), "--image-size", "32", "--device", "cpu"]
    sets = [
        "--set",
        "embed.batch_size=4",
        "--set",
        "embed.workers=2",
        "--set",
        "embed.cpu_threads=1",
    ]
    args = ["embed", "--params", "bare.yaml", "--input", "data/filtered/plants.parquet"]
    given = CliRunner().invoke(cli, [*args, "--out", "out/given.h5", *shortcuts, *sets])
    assert given.exit_code == 0, given.output
    assert Path("out/given.h5").read_bytes() == pipeline
    assert not Path("out/.given.h5.work").exists() and not Path(".cmd.h5.work").exists()


def test_command_needs_a_dataset_or_both_paths(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(cli, ["embed", "--out", "x.h5"])
    assert result.exit_code == 1 and "give --dataset, or both --input and --out" in result.output
    absent = CliRunner().invoke(cli, ["embed", "--input", "t.parquet", "--out", "x.h5"])
    assert absent.exit_code == 1 and "filtered table not found: t.parquet" in absent.output
    Path("t.parquet").write_bytes(b"")
    wrong = CliRunner().invoke(cli, ["embed", "--input", "t.parquet", "--out", "x.csv"])
    assert wrong.exit_code == 1 and "must be an .h5 file, not x.csv" in wrong.output


def test_a_table_that_is_not_parquet_or_lacks_image_url_is_one_clear_error(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    Path("t.parquet").write_text("gbif_id,image_url\n1,a.jpg\n")  # a CSV under the wrong name
    args = ["embed", "--input", "t.parquet", "--out", "x.h5", "--device", "cpu"]
    text = CliRunner().invoke(cli, args)
    assert text.exit_code == 1 and "t.parquet: not a Parquet table" in text.output
    observation_table(["a.jpg"]).drop(columns=["image_url", "lat"]).to_parquet("t.parquet")
    columns = CliRunner().invoke(cli, args)
    assert columns.exit_code == 1 and "lacks column(s) image_url, lat" in columns.output
    assert "Traceback" not in text.output + columns.output and not Path("x.h5").exists()
