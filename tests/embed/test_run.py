"""The embedding loop in-process: HTTP outcomes end to end, reruns, --retry-failed, /text, and
one file per backbone configuration."""

from __future__ import annotations

import h5py
import numpy as np

from geoloc.embed.backbones import get_backbone
from geoloc.embed.pipeline import embed_table, work_beside, work_dir
from geoloc.embed.store import read_embeddings
from geoloc.params import EmbedParams
from tests.embed.embed_fixtures import (
    ImageServer,
    bomb_png,
    jpeg_bytes,
    observation_table,
    save_tiny_open_clip,
    write_jpegs,
)

CONFIG = EmbedParams(
    batch_size=4,
    workers=3,
    max_pixels=1_000_000,
    timeout_s=0.3,
    retries=1,
    backoff_s=0.01,
    max_bytes=100_000,
)


def _failed(path) -> dict[int, str]:
    with h5py.File(path, "r") as h5:
        return dict(
            zip(h5["failed/gbif_id"][:].tolist(), h5["failed/reason"].asstr()[:], strict=True)
        )


def test_http_outcomes_end_to_end_and_retry_failed(tmp_path, tiny_backbone):
    jpg = jpeg_bytes(48)
    routes = {
        "/ok.jpg": [(200, "image/jpeg", jpg, 0)],
        "/flaky.jpg": [(500, "text/plain", b"", 0), (200, "image/jpeg", jpg, 0)],
        "/slow.jpg": [(200, "image/jpeg", jpg, 0.6)] * 2 + [(200, "image/jpeg", jpg, 0)],
        "/missing.jpg": [(404, "text/plain", b"", 0)],
        "/truncated.jpg": [(200, "image/jpeg", jpg[: len(jpg) // 2], 0)],
        "/huge.png": [(200, "image/png", bomb_png(2000), 0)],
        "/page.html": [(200, "text/html", b"<html></html>", 0)],
    }
    out = tmp_path / "e.h5"
    with ImageServer(routes) as server:
        urls = [server.url(p) for p in routes] + ["", "gopher://old/a.jpg"]
        table = observation_table(urls)
        first = embed_table(table, out, tiny_backbone, CONFIG, progress=False)
        reasons = {
            "slow": "timeout", "missing": "http_404", "truncated": "truncated",
            "huge": "decompression_bomb", "page": "not_image", "": "no_image",
            "gopher": "unsupported_scheme",
        }  # fmt: skip
        assert first.embedded == 2 and sum(first.failed.values()) == 7
        failed = _failed(out)
        assert sorted(failed.values()) == sorted(reasons.values())
        assert read_embeddings(out).gbif_id.tolist() == [1000, 1001]  # ok, flaky (500 -> 200)

        hits = dict(server.hits)
        again = embed_table(table, out, tiny_backbone, CONFIG, progress=False)
        assert again.skipped == 9 and again.embedded == 0 and server.hits == hits

        retried = embed_table(table, out, tiny_backbone, CONFIG, retry_failed=True, progress=False)
        assert retried.embedded == 1 and retried.skipped == 8  # only the timeout was transient
        assert server.hits["/slow.jpg"] == hits["/slow.jpg"] + 1
        assert server.hits["/missing.jpg"] == hits["/missing.jpg"]
    table_after = read_embeddings(out)
    assert table_after.gbif_id.tolist() == [1000, 1001, 1002]  # table order
    assert "timeout" not in _failed(out).values() and len(_failed(out)) == 6
    np.testing.assert_allclose(np.linalg.norm(table_after.embedding, axis=1), 1.0, atol=2e-3)
    np.testing.assert_array_equal(table_after.lat, table["lat"].to_numpy()[:3])


def test_changing_image_size_makes_a_new_file_never_a_mix(tmp_path, tiny_timm_dir):
    table = observation_table(write_jpegs(tmp_path / "img", 10))
    small = get_backbone(str(tiny_timm_dir), image_size=32)
    large = get_backbone(str(tiny_timm_dir), image_size=48)
    out, fresh = tmp_path / "e.h5", tmp_path / "fresh.h5"
    embed_table(table, out, small, CONFIG, progress=False)
    assert read_embeddings(out).attrs["image_size"] == 32
    summary = embed_table(table, out, large, CONFIG, progress=False)
    assert summary.skipped == 0 and summary.embedded == 10  # nothing reused from 32 px
    embed_table(table, fresh, large, CONFIG, progress=False)
    got, want = read_embeddings(out), read_embeddings(fresh)
    assert got.attrs["image_size"] == 48 and got.attrs["fingerprint"] == want.attrs["fingerprint"]
    np.testing.assert_array_equal(got.embedding, want.embedding)
    assert work_dir(work_beside(out), small.attrs) != work_dir(work_beside(out), large.attrs)
    assert not (tmp_path / ".e.h5.work").exists()  # work logs removed once merged


def test_clip_backbone_writes_species_text_embeddings(tmp_path):
    backbone = get_backbone(str(save_tiny_open_clip(tmp_path / "clip")), image_size=32)
    table = observation_table(write_jpegs(tmp_path / "img", 6))
    embed_table(table, tmp_path / "e.h5", backbone, CONFIG, progress=False)
    stored = read_embeddings(tmp_path / "e.h5")
    assert stored.dim == 16 and len(stored) == 6
    assert stored.text.species_key.tolist() == [10, 11, 12]
    assert stored.text.species.tolist() == ["Genus species0", "Genus species1", "Genus species2"]
    want = backbone.encode_text(["Genus species0"]).numpy()[0]
    np.testing.assert_allclose(stored.text.embedding[0], want, atol=2e-3)
