"""`geoloc reid`, `fewshot` and `cluster` on an embedding file; `reid` on an image folder."""

import json

import numpy as np
import pandas as pd
from click.testing import CliRunner

from geoloc.cli import main
from geoloc.embed.audio.rois import RoiTable, write_audio_embeddings


def _store(path, labels, seed=0):
    """An embedding file in the shared schema with one Gaussian blob per label."""
    rng = np.random.default_rng(seed)
    labels = np.asarray(labels)
    codes = np.unique(labels, return_inverse=True)[1]
    x = 3 * rng.normal(size=(codes.max() + 1, 16))[codes] + rng.normal(size=(len(codes), 16))
    x /= np.linalg.norm(x, axis=1, keepdims=True)
    nan = np.full(len(labels), np.nan)
    rois = RoiTable([f"r{i}.wav" for i in range(len(labels))], labels.astype(str), nan, nan)
    attrs = {"backbone": "synthetic", "weights_id": "none", "image_size": 0}
    write_audio_embeddings(path, rois, x, attrs)
    return path


def _run(*args):
    return CliRunner().invoke(main, [str(a) for a in args])


def test_reid_fewshot_cluster_on_an_embedding_file(tmp_path):
    h5 = _store(tmp_path / "e.h5", np.repeat(list("abcdef"), 15))
    result = _run("reid", h5, "--k", 3, "--top-k", "1,3", "--out", tmp_path / "m.json")
    assert result.exit_code == 0, result.output
    metrics = json.loads((tmp_path / "m.json").read_text())
    assert metrics["acc"] > 0.9 and metrics["n_identities"] == 6 and "top3" in metrics

    result = _run("fewshot", h5, "--n-way", 3, "--episodes", 5, "--method", "matching")
    assert result.exit_code == 0, result.output
    assert set(json.loads(result.stdout)) == {"matching_acc", "matching_ci95"}

    assign = tmp_path / "a.csv"
    result = _run("cluster", h5, "--rounds", 1, "--epochs", 5, "--assignments", assign)
    assert result.exit_code == 0, result.output
    rounds = json.loads(result.stdout)
    assert [r["round"] for r in rounds] == [0, 1] and rounds[0]["ari"] > 0.9
    assert len(pd.read_csv(assign)) == 90


def test_reid_with_identities_csv_and_user_errors(tmp_path):
    h5 = _store(tmp_path / "e.h5", np.repeat(list("ab"), 6))
    ids = tmp_path / "ids.csv"
    pd.DataFrame({"gbif_id": range(12), "identity": ["x", "y"] * 6}).to_csv(ids, index=False)
    result = _run("reid", h5, "--identities", ids)
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["n_identities"] == 2

    single = _store(tmp_path / "single.h5", list("abc"))
    result = _run("reid", single)
    assert result.exit_code == 1 and "Error:" in result.output and "two or more" in result.output
    result = _run("reid", h5, "--top-k", "one")
    assert result.exit_code == 1 and "--top-k" in result.output


class _PixelBackbone:
    """Stand-in for an image backbone (the real one is exercised in tests/embed/audio)."""

    def __init__(self, name, image_size=None, device="cpu"):
        self.name, self.image_size = name, image_size

    def embed_pil(self, images, batch_size=64):
        from geoloc.reid.evaluate import pixel_embeddings

        x = pixel_embeddings(images, size=8)
        return x / np.linalg.norm(x, axis=1, keepdims=True)


def test_reid_on_an_image_folder_embeds_on_the_fly(tmp_path, monkeypatch):
    from geoloc.embed import backbones
    from geoloc.sim.individuals import write_reid_demo

    seen = {}

    def fake_get_backbone(name, image_size=None, device="cpu"):
        seen.update(name=name, image_size=image_size)
        return _PixelBackbone(name, image_size, device)

    monkeypatch.setattr(backbones, "get_backbone", fake_get_backbone)
    csv = write_reid_demo(tmp_path / "photos", individuals=3, photos=3, image_size=48)
    result = _run("reid", csv, "--backbone", "dinov2-vitb14", "--device", "cpu")
    assert result.exit_code == 0, result.output
    metrics = json.loads(result.stdout)
    assert metrics["n_identities"] == 3 and metrics["n_query"] == 3 and metrics["n_gallery"] == 6
    assert seen == {"name": "dinov2-vitb14", "image_size": 518}  # the backbone's own size

    folder = tmp_path / "by_identity"
    for path, ident in pd.read_csv(csv).itertuples(index=False):
        (folder / ident).mkdir(parents=True, exist_ok=True)
        (tmp_path / "photos" / path).rename(folder / ident / path)
    result = _run("reid", folder, "--image-size", 64)
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["n_query"] == 3 and seen["image_size"] == 64


def test_reid_sift_matcher_on_photos_and_not_on_embeddings(tmp_path):
    from geoloc.sim.individuals import write_reid_demo

    csv = write_reid_demo(tmp_path / "photos", individuals=4, photos=4, image_size=96)
    result = _run("reid", csv, "--matcher", "sift", "--top-k", "1,2", "--out", tmp_path / "m.json")
    assert result.exit_code == 0, result.output
    metrics = json.loads((tmp_path / "m.json").read_text())
    assert metrics["n_identities"] == 4 and metrics["n_query"] == 4
    assert metrics["acc"] >= 0.75 and metrics["top2"] == 1

    h5 = _store(tmp_path / "e.h5", np.repeat(list("ab"), 6))
    result = _run("reid", h5, "--matcher", "sift")
    assert result.exit_code == 1 and "needs images" in result.output
    result = _run("reid", csv, "--matcher", "sift", "--sift-ratio", 1.5)
    assert result.exit_code != 0 and "--sift-ratio" in result.output
