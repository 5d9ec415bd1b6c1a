"""The embedding loop in-process: HTTP outcomes end to end, hostile rows, reruns,
--retry-failed, /text, one file per backbone configuration, one run at a time, and runs that
embed nothing."""

from __future__ import annotations

import os
import socket
import threading

import h5py
import numpy as np
import pytest

from geoloc.embed.backbones import get_backbone
from geoloc.embed.pipeline import embed_table, work_beside, work_dir
from geoloc.embed.store import read_embeddings
from geoloc.errors import GeolocError
from geoloc.params import EmbedParams
from tests.embed.embed_fixtures import (
    Drip,
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
    private_hosts=True,  # the test servers listen on loopback
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


def _rooted(root, **changes) -> EmbedParams:
    """CONFIG reading local photos below `root`."""
    return CONFIG.model_copy(update={"local_root": str(root), **changes})


def test_changing_image_size_makes_a_new_file_never_a_mix(tmp_path, tiny_timm_dir):
    table = observation_table(write_jpegs(tmp_path / "img", 10))
    small = get_backbone(str(tiny_timm_dir), image_size=32)
    large = get_backbone(str(tiny_timm_dir), image_size=48)
    out, fresh = tmp_path / "e.h5", tmp_path / "fresh.h5"
    config = _rooted(tmp_path)
    embed_table(table, out, small, config, progress=False)
    assert read_embeddings(out).attrs["image_size"] == 32
    summary = embed_table(table, out, large, config, progress=False)
    assert summary.skipped == 0 and summary.embedded == 10  # nothing reused from 32 px
    embed_table(table, fresh, large, config, progress=False)
    got, want = read_embeddings(out), read_embeddings(fresh)
    assert got.attrs["image_size"] == 48 and got.attrs["fingerprint"] == want.attrs["fingerprint"]
    np.testing.assert_array_equal(got.embedding, want.embedding)
    assert work_dir(work_beside(out), small.attrs) != work_dir(work_beside(out), large.attrs)
    assert not (tmp_path / ".e.h5.work").exists()  # work logs removed once merged


def test_clip_backbone_writes_species_text_embeddings(tmp_path):
    backbone = get_backbone(str(save_tiny_open_clip(tmp_path / "clip")), image_size=32)
    table = observation_table(write_jpegs(tmp_path / "img", 6))
    embed_table(table, tmp_path / "e.h5", backbone, _rooted(tmp_path), progress=False)
    stored = read_embeddings(tmp_path / "e.h5")
    assert stored.dim == 16 and len(stored) == 6
    assert stored.text.species_key.tolist() == [10, 11, 12]
    assert stored.text.species.tolist() == ["Genus species0", "Genus species1", "Genus species2"]
    want = backbone.encode_text(["Genus species0"]).numpy()[0]
    np.testing.assert_allclose(stored.text.embedding[0], want, atol=2e-3)


def test_hostile_image_urls_become_recorded_failures(tmp_path, tiny_backbone):
    """Rows an archive can supply that used to raise, hang or fill memory: each one is a failure
    with a reason in the file, and the good row is embedded."""
    root = tmp_path / "root"
    write_jpegs(root, 1)
    os.mkfifo(root / "pipe.jpg")
    (root / "zero.jpg").symlink_to("/dev/zero")
    head = b"HTTP/1.1 200 OK\r\nContent-Type: image/jpeg\r\nContent-Length: 400\r\n\r\n"
    routes = {
        "/loop.jpg": [(302, "text/plain", b"", 0, {"Location": "/loop.jpg"})],
        "/drip.jpg": [Drip(head + b"x" * 400, interval=0.05, fast=len(head))],
    }
    rows = {
        "0.jpg": None, "http://[::1/x.jpg": "bad_uri", "a\x00b.jpg": "bad_uri",
        "/proc/self/mem": "outside_root", "zero.jpg": "outside_root", "pipe.jpg": "not_a_file",
        "/loop.jpg": "redirect_loop", "/drip.jpg": "timeout",
    }  # fmt: skip
    out = tmp_path / "e.h5"
    with ImageServer(routes) as server:
        urls = [server.url(u) if u in routes else u for u in rows]
        config = _rooted(root, retries=0)
        summary = embed_table(observation_table(urls), out, tiny_backbone, config, progress=False)
    assert summary.embedded == 1 and read_embeddings(out).gbif_id.tolist() == [1000]
    reasons = [reason for reason in rows.values() if reason]
    assert sorted(_failed(out).values()) == sorted(reasons)


class _Gate:
    """Holds the first request to /gate.jpg until opened; later requests pass."""

    def __init__(self, server: ImageServer):
        self.reached, self.opened = threading.Event(), threading.Event()
        handler = server.httpd.RequestHandlerClass
        serve = handler.do_GET
        gate = self

        def do_get(request):
            if request.path == "/gate.jpg" and not gate.reached.is_set():
                gate.reached.set()
                gate.opened.wait(30)
            serve(request)

        handler.do_GET = do_get


def test_a_second_run_on_the_same_output_fails_at_once_and_the_first_loses_nothing(
    tmp_path, tiny_backbone
):
    jpg = jpeg_bytes(48)
    routes = {f"/{i}.jpg": [(200, "image/jpeg", jpg, 0)] for i in range(11)}
    routes["/gate.jpg"] = [(200, "image/jpeg", jpg, 0)]
    out = tmp_path / "e.h5"
    with ImageServer(routes) as server:
        gate = _Gate(server)
        table = observation_table([server.url(p) for p in routes])  # the gate comes last
        results = {}
        config = _rooted(tmp_path, batch_size=12)  # one batch: the gate holds it

        def first_run():
            results["first"] = embed_table(table, out, tiny_backbone, config, progress=False)

        thread = threading.Thread(target=first_run)
        thread.start()
        assert gate.reached.wait(30)  # the first run is fetching its batch
        try:
            with pytest.raises(GeolocError, match=r"another run \(pid \d+ on .*\) is writing"):
                embed_table(table, out, tiny_backbone, config, progress=False)
        finally:
            gate.opened.set()
            thread.join(60)
    assert results["first"].embedded == 12
    assert read_embeddings(out).gbif_id.tolist() == table["gbif_id"].tolist()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["e.h5"]  # no lock or work left
    # the lock went with its run: the next one starts (and finds everything done)
    assert embed_table(table, out, tiny_backbone, config, progress=False).skipped == 12


def test_no_network_fails_on_the_first_batch_recording_nothing(
    tmp_path, tiny_backbone, monkeypatch
):
    lookups = []

    def offline(host, *args, **kwargs):
        lookups.append(host)
        raise socket.gaierror(socket.EAI_AGAIN, "Temporary failure in name resolution")

    monkeypatch.setattr(socket, "getaddrinfo", offline)
    table = observation_table([f"https://photos.example.org/{i}.jpg" for i in range(16)])
    out = tmp_path / "e.h5"
    config = _rooted(tmp_path, batch_size=8, retries=3, backoff_s=1.0)  # retries: 7 s a photo
    with pytest.raises(GeolocError, match="no network / host unreachable: 8 of the first 8"):
        embed_table(table, out, tiny_backbone, config, progress=False)
    assert len(lookups) <= 16  # at most the batches in flight, each photo tried once
    assert not out.exists() and not list(tmp_path.rglob("part-*.h5"))  # nothing recorded


def test_a_first_batch_from_one_dead_host_is_recorded_and_the_run_goes_on(
    tmp_path, tiny_backbone, monkeypatch
):
    def gone(host, *args, **kwargs):  # a publisher's domain that no longer exists
        raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")

    monkeypatch.setattr(socket, "getaddrinfo", gone)
    dead = [f"https://images.gone.example.org/{i}.jpg" for i in range(8)]
    table = observation_table(dead + write_jpegs(tmp_path, 4))
    out = tmp_path / "e.h5"
    summary = embed_table(
        table, out, tiny_backbone, _rooted(tmp_path, batch_size=8), progress=False
    )
    assert summary.embedded == 4 and summary.failed == {"no_such_host": 8}
    assert sorted(set(_failed(out).values())) == ["no_such_host"]


def test_a_run_that_embeds_nothing_fails_and_writes_no_file(tmp_path, tiny_backbone):
    routes = {"/gone.jpg": [(404, "text/plain", b"", 0)]}
    out = tmp_path / "e.h5"
    with ImageServer(routes) as server:
        table = observation_table([server.url("/gone.jpg"), "", "missing.jpg"])
        with pytest.raises(GeolocError) as err:
            embed_table(table, out, tiny_backbone, _rooted(tmp_path), progress=False)
    message = str(err.value)
    assert "the embed step embedded nothing: all 3 photos failed" in message
    assert "http_404 1" in message and "no_image 1" in message and "not_found 1" in message
    assert list(tmp_path.iterdir()) == []  # no file, no work log, no lock
