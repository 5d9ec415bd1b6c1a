"""run_reid: the stage and `geoloc reid` give the same metrics; what each kind of SOURCE gives."""

import json

import numpy as np
import pandas as pd
import pytest
from click.testing import CliRunner

from geoloc.cli import main
from geoloc.errors import GeolocError
from geoloc.layout import ReidPaths
from geoloc.params import Params
from geoloc.reid import run_reid
from tests.stage_runs import labelled_store as store
from tests.stage_runs import stage_and_command
from tests.test_pipeline import TINY_PARAMS


def _run(*args):
    return CliRunner().invoke(main, [str(a) for a in args])


def test_stage_and_command_give_the_same_metrics(tmp_path, monkeypatch, repo_root):
    monkeypatch.chdir(tmp_path)
    params = {"reid": {**TINY_PARAMS["reid"], "matcher": "sift"}}
    by_stage, by_command = stage_and_command(
        repo_root, tmp_path, "reid", params, "results/reid/metrics.json", "reid"
    )
    assert by_command == by_stage
    assert {"acc_global", "map_global", "acc_pixels", "map_pixels"} <= set(by_stage)
    assert by_stage["n_identities"] == 4 and by_stage["n_query"] == 4
    # the stage records which matcher made its metrics beside them, as names, not numbers
    run = json.loads((tmp_path / "results/reid/metrics.run.json").read_text())
    assert run == {
        "matcher": "sift",
        "source": "synthetic individuals demo",
        "peers": ["global", "pixels"],
        "backbone": "efficientnet-lite0",
        "image_size": 64,
        "sift": {"size": 192, "ratio": 0.75, "verify": True},
    }
    # the command's shortcut options are params: --matcher global is reid.matcher=global
    result = _run("reid", "--matcher", "global", "--out", "global.json")
    assert result.exit_code == 0, result.output
    by_global = json.loads((tmp_path / "global.json").read_text())
    assert by_global["acc"] == by_stage["acc_global"] and "acc_global" not in by_global
    assert by_global["acc_pixels"] == by_stage["acc_pixels"]
    by_global_run = json.loads((tmp_path / "global.run.json").read_text())
    assert by_global_run["matcher"] == "global" and by_global_run["peers"] == ["pixels"]
    assert "sift" not in by_global_run


def test_embeddings_give_only_the_global_metrics(tmp_path):
    h5 = store(tmp_path / "e.h5", np.repeat(list("abcdef"), 15))
    params = Params(reid={"k": 3, "top_k": [1, 3]})
    metrics = run_reid(params, ReidPaths(h5, tmp_path / "m.json"))
    assert metrics == json.loads((tmp_path / "m.json").read_text())
    assert metrics["acc"] > 0.9 and metrics["n_identities"] == 6 and "top3" in metrics
    assert not any(key.endswith(("_global", "_pixels")) for key in metrics)
    assert json.loads((tmp_path / "m.run.json").read_text()) == {
        "matcher": "global",
        "source": str(h5),
        "peers": [],
    }
    with pytest.raises(GeolocError, match="matches photos"):
        run_reid(Params(reid={"matcher": "sift"}), ReidPaths(h5, None))


def test_identities_csv_labels_an_embedding_file_not_photos(tmp_path):
    h5 = store(tmp_path / "e.h5", np.repeat(list("ab"), 6))
    ids = tmp_path / "ids.csv"
    pd.DataFrame({"gbif_id": range(12), "identity": ["x", "y"] * 6}).to_csv(ids, index=False)
    assert run_reid(Params(), ReidPaths(h5, None, ids))["n_identities"] == 2
    with pytest.raises(GeolocError, match="identities CSV"):
        run_reid(Params(), ReidPaths(tmp_path, None, ids))


def test_command_on_sources_and_user_errors(tmp_path, monkeypatch):
    from geoloc.sim.individuals import write_reid_demo

    monkeypatch.chdir(tmp_path)  # no params.yaml here: the defaults (matcher global)
    csv = write_reid_demo(tmp_path / "photos", individuals=4, photos=4, image_size=96)
    result = _run("reid", csv, "--matcher", "sift", "--image-size", 32, "--top-k", "1,2")
    assert result.exit_code == 0, result.output
    metrics = json.loads(result.stdout)
    assert metrics["n_identities"] == 4 and metrics["n_query"] == 4
    assert metrics["acc"] >= 0.75 and metrics["top2"] == 1 and "acc_global" in metrics
    assert not (tmp_path / "results").exists()  # with SOURCE, nothing written without --out

    single = store(tmp_path / "single.h5", list("abc"))
    result = _run("reid", single)
    assert result.exit_code == 1 and "Error:" in result.output and "two or more" in result.output
    result = _run("reid", csv, "--top-k", "one")
    assert result.exit_code != 0 and "--top-k" in result.output
    result = _run("reid", csv, "--sift-ratio", 1.5)
    assert result.exit_code == 1 and "reid.sift_ratio" in result.output
    assert "Traceback" not in result.output


def test_photos_are_embedded_at_the_backbones_native_size(tmp_path, monkeypatch):
    from geoloc.embed import backbones
    from geoloc.reid.evaluate import pixel_embeddings
    from geoloc.sim.individuals import write_reid_demo

    seen = {}

    class PixelBackbone:
        def embed_pil(self, images, batch_size=64):
            return pixel_embeddings(images, size=8)

    def fake_get_backbone(name, image_size=None, device="cpu"):
        seen.update(name=name, image_size=image_size)
        return PixelBackbone()

    monkeypatch.setattr(backbones, "get_backbone", fake_get_backbone)
    csv = write_reid_demo(tmp_path / "photos", individuals=3, photos=3, image_size=48)
    folder = tmp_path / "by_identity"
    for path, ident in pd.read_csv(csv).itertuples(index=False):
        (folder / ident).mkdir(parents=True, exist_ok=True)
        (tmp_path / "photos" / path).rename(folder / ident / path)
    params = Params(reid={"backbone": "dinov2-vitb14"}, runtime={"device": "cpu"})
    metrics = run_reid(params, ReidPaths(folder, None))
    assert seen == {"name": "dinov2-vitb14", "image_size": 518}  # from timm's config
    assert metrics["n_identities"] == 3 and metrics["n_query"] == 3 and metrics["n_gallery"] == 6
    run_reid(Params(reid={"image_size": 64}), ReidPaths(folder, None))
    assert seen["image_size"] == 64
