"""Fetching and decoding: every failure becomes a short stable reason, never an exception."""

from __future__ import annotations

import io

import pytest
from PIL import Image

from geoloc.embed.decode import DecodeError, decode_image
from geoloc.embed.fetch import Fetcher, FetchError, inat_photo_url, is_transient
from geoloc.params import EmbedParams
from tests.embed.embed_fixtures import ImageServer, bomb_png, jpeg_bytes

FAST = EmbedParams(timeout_s=0.3, retries=2, backoff_s=0.01, max_bytes=50_000)


def test_http_retries_transient_errors_reuses_connections_and_classifies_failures():
    jpg = jpeg_bytes()
    routes = {
        "/ok.jpg": [(200, "image/jpeg", jpg, 0)],
        "/flaky.jpg": [(500, "text/plain", b"oops", 0), (200, "image/jpeg", jpg, 0)],
        "/busy.jpg": [(429, "text/plain", b"", 0), (503, "text/plain", b"", 0),
                      (200, "image/jpeg", jpg, 0)],
        "/down.jpg": [(502, "text/plain", b"", 0)],
        "/page.html": [(200, "text/html; charset=utf-8", b"<html></html>", 0)],
        "/big.jpg": [(200, "image/jpeg", b"x" * 60_000, 0)],
        "/slow.jpg": [(200, "image/jpeg", jpg, 1.0)],
    }  # fmt: skip
    with ImageServer(routes) as server, Fetcher(FAST) as fetcher:
        assert fetcher.fetch(server.url("/ok.jpg")) == jpg
        assert fetcher.fetch(server.url("/ok.jpg")) == jpg
        assert fetcher.fetch(server.url("/flaky.jpg")) == jpg
        assert fetcher.fetch(server.url("/busy.jpg")) == jpg
        outcomes = {}
        for path in ["/missing.jpg", "/down.jpg", "/page.html", "/big.jpg", "/slow.jpg"]:
            with pytest.raises(FetchError) as err:
                fetcher.fetch(server.url(path))
            outcomes[path] = err.value.reason
        hits = dict(server.hits)
        ports = set(server.ports)
    assert outcomes == {
        "/missing.jpg": "http_404",
        "/down.jpg": "http_502",
        "/page.html": "not_image",
        "/big.jpg": "too_large",
        "/slow.jpg": "timeout",
    }
    # 500 then 200: one retry; 429, 503, 200: two; 404 is not retried; 502 retried to the limit
    assert hits["/flaky.jpg"] == 2 and hits["/busy.jpg"] == 3
    assert hits["/missing.jpg"] == 1 and hits["/down.jpg"] == 3 and hits["/slow.jpg"] == 3
    assert len(ports) < sum(hits.values())  # keep-alive: connections were reused
    assert [is_transient(r) for r in outcomes.values()] == [False, True, False, False, True]


def test_local_paths_file_uris_and_other_schemes(tmp_path, monkeypatch):
    (tmp_path / "a.jpg").write_bytes(b"abc")
    monkeypatch.chdir(tmp_path)
    fetcher = Fetcher(FAST)
    assert fetcher.fetch("a.jpg") == b"abc"  # relative to the working directory
    assert fetcher.fetch((tmp_path / "a.jpg").as_uri()) == b"abc"
    assert Fetcher(FAST, base_dir=tmp_path).fetch("a.jpg") == b"abc"
    for uri, reason in [("nope.jpg", "not_found"), ("ftp://host/a.jpg", "unsupported_scheme"),
                        ("s3://bucket/a.jpg", "unsupported_scheme")]:  # fmt: skip
        with pytest.raises(FetchError, match=reason):
            fetcher.fetch(uri)


def _decode_reason(data: bytes, **kw) -> str:
    with pytest.raises(DecodeError) as err:
        decode_image(data, **kw)
    return err.value.reason


def test_decode_guards_and_failures():
    jpg = jpeg_bytes(64)
    assert _decode_reason(jpg[: len(jpg) // 2]) == "truncated"
    assert _decode_reason(bomb_png(4000), max_pixels=1_000_000) == "decompression_bomb"
    assert _decode_reason(b"<html>not an image</html>") == "not_image"


def test_decode_applies_exif_orientation_converts_to_rgb_and_downscales_jpegs():
    image = Image.new("RGB", (60, 30), "red")
    image.paste(Image.new("RGB", (30, 30), "blue"), (0, 0))  # left half blue
    exif = Image.Exif()
    exif[0x0112] = 6  # rotate 90 degrees clockwise to display
    buf = io.BytesIO()
    image.save(buf, format="JPEG", exif=exif.tobytes(), quality=95)
    upright = decode_image(buf.getvalue())
    assert upright.size == (30, 60) and upright.mode == "RGB"
    r, g, b = upright.getpixel((15, 5))  # the blue half is now on top
    assert b > 150 and r < 100

    buf = io.BytesIO()
    Image.new("RGBA", (20, 20), (0, 255, 0, 128)).save(buf, format="PNG")
    assert decode_image(buf.getvalue()).mode == "RGB"

    big = io.BytesIO()
    Image.new("RGB", (800, 600), "white").save(big, format="JPEG")
    small = decode_image(big.getvalue(), min_size=128)
    assert min(small.size) >= 128 and small.size[0] <= 400  # decoded at 1/2 or 1/4 scale


def test_inaturalist_original_urls_are_fetched_at_medium_size():
    url = "https://inaturalist-open-data.s3.amazonaws.com/photos/12345/original.jpeg"
    assert inat_photo_url(url, "medium").endswith("/photos/12345/medium.jpeg")
    assert inat_photo_url(url, "original") == url
    other = "https://example.org/photos/1/original.jpg"
    assert inat_photo_url(other, "medium") == other
