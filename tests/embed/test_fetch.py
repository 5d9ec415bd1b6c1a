"""Fetching and decoding: every failure becomes a short stable reason, never an exception."""

from __future__ import annotations

import errno
import gzip
import io
import os
import socket
import threading

import pytest
from PIL import Image

from geoloc.embed import connections
from geoloc.embed.decode import DecodeError, decode_image
from geoloc.embed.fetch import NETWORK_DOWN, Fetcher, FetchError, inat_photo_url, is_transient
from geoloc.params import EmbedParams
from tests.embed.embed_fixtures import Drip, ImageServer, bomb_png, jpeg_bytes

# the test servers listen on loopback, which embed.private_hosts must allow
FAST = EmbedParams(timeout_s=0.3, retries=2, backoff_s=0.01, max_bytes=50_000, private_hosts=True)


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
    assert _confined(tmp_path).fetch("a.jpg") == b"abc"
    for uri, reason in [("nope.jpg", "not_found"), ("ftp://host/a.jpg", "unsupported_scheme"),
                        ("s3://bucket/a.jpg", "unsupported_scheme")]:  # fmt: skip
        with pytest.raises(FetchError, match=reason):
            fetcher.fetch(uri)


def _confined(root, **changes) -> Fetcher:
    return Fetcher(FAST.model_copy(update={"local_root": str(root), **changes}))


def _reason(fetcher: Fetcher, uri: str) -> str:
    with pytest.raises(FetchError) as err:
        fetcher.fetch(uri)
    return err.value.reason


def test_local_paths_are_confined_to_the_root_and_read_only_from_regular_files(tmp_path):
    root, outside = tmp_path / "root", tmp_path / "outside"
    root.mkdir()
    outside.mkdir()
    (outside / "secret.jpg").write_bytes(b"secret")
    (root / "ok.jpg").write_bytes(b"ok")
    (root / "link.jpg").symlink_to(outside / "secret.jpg")
    (root / "sub").mkdir()
    os.mkfifo(root / "pipe.jpg")  # opening it for reading would wait for a writer forever
    fetcher = _confined(root)
    assert _reason(fetcher, str(outside / "secret.jpg")) == "outside_root"
    assert _reason(fetcher, "../outside/secret.jpg") == "outside_root"
    assert _reason(fetcher, "link.jpg") == "outside_root"  # a symlink is judged by its target
    assert _reason(fetcher, (outside / "secret.jpg").as_uri()) == "outside_root"
    assert fetcher.fetch("ok.jpg") == fetcher.fetch(str(root / "ok.jpg")) == b"ok"
    assert _reason(fetcher, "pipe.jpg") == "not_a_file"
    assert _reason(fetcher, "sub") == "not_a_file"
    assert _reason(_confined(root, max_bytes=1), "ok.jpg") == "too_large"
    anywhere = _confined("/")
    assert _reason(anywhere, "/dev/zero") == "not_a_file"  # st_size 0, endless bytes
    assert _reason(anywhere, "/proc/self/mem") == "unreadable"  # a regular file that fails to read


@pytest.mark.parametrize(
    "uri",
    ["http://[::1/x.jpg", "a\x00b.jpg", "file:///tmp/a%00b.jpg", "http://exa\x00mple.org/x.jpg",
     "http://a..b/x.jpg", "https://" + "a" * 70 + ".org/x.jpg"],
)  # fmt: skip
def test_unparsable_uris_are_recorded_failures_not_exceptions(uri, tmp_path):
    assert _reason(_confined(tmp_path), uri) == "bad_uri"


def _head(length: int) -> bytes:
    return (
        f"HTTP/1.1 200 OK\r\nContent-Type: image/jpeg\r\nContent-Length: {length}\r\n\r\n".encode()
    )


@pytest.mark.parametrize("drip_headers", [False, True])
def test_timeout_bounds_a_whole_download_from_a_server_sending_a_byte_at_a_time(drip_headers):
    raw = _head(400) + b"x" * 400  # 20 s at one byte per 50 ms; timeout_s is 0.3
    drip = Drip(raw, interval=0.05, fast=0 if drip_headers else len(_head(400)))
    with (
        ImageServer({"/drip.jpg": [drip]}) as server,
        Fetcher(FAST.model_copy(update={"retries": 0})) as fetcher,
    ):
        assert _reason(fetcher, server.url("/drip.jpg")) == "timeout"
        assert drip.sent < len(raw) // 2  # cut about 6 bytes in, not after the whole body


def test_redirect_loops_fail_at_once_and_redirects_never_reach_local_files(tmp_path):
    def moved(target):
        return [(302, "text/plain", b"", 0, {"Location": target})]

    with ImageServer({"/loop.jpg": moved("/loop.jpg")}) as server, Fetcher(FAST) as fetcher:
        server.routes["/to_file.jpg"] = moved((tmp_path / "x.jpg").as_uri())
        (tmp_path / "x.jpg").write_bytes(b"local")
        assert _reason(fetcher, server.url("/loop.jpg")) == "redirect_loop"
        assert server.hits["/loop.jpg"] <= 6  # one try of at most 5 redirects, not retried
        assert _reason(fetcher, server.url("/to_file.jpg")) == "bad_uri"


def test_a_compressed_transfer_is_not_inflated():
    bomb = gzip.compress(b"\0" * 5_000_000)  # 5 MB of zeros in ~5 kB
    routes = {"/z.jpg": [(200, "image/jpeg", bomb, 0, {"Content-Encoding": "gzip"})]}
    with ImageServer(routes) as server, Fetcher(FAST) as fetcher:
        assert fetcher.fetch(server.url("/z.jpg")) == bomb  # then fails to decode: not_image


def test_lookup_and_connection_failures_fail_at_once_and_say_what_is_down(monkeypatch):
    lookups = []
    real = socket.getaddrinfo
    failures = {
        "photos.invalid": (socket.EAI_AGAIN, "Temporary failure in name resolution"),  # offline
        "gone.example.org": (socket.EAI_NONAME, "Name or service not known"),  # a dead domain
    }

    def lookup(host, *args, **kwargs):
        lookups.append(host)
        if host in failures:
            raise socket.gaierror(*failures[host])
        return real(host, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", lookup)
    with socket.socket() as probe:  # a loopback port nobody listens on: connection refused
        probe.bind(("127.0.0.1", 0))
        closed = probe.getsockname()[1]
    fetcher = Fetcher(FAST)  # retries=2 for what is retried
    assert _reason(fetcher, "http://photos.invalid/a.jpg") == "dns"
    assert _reason(fetcher, "http://gone.example.org/a.jpg") == "no_such_host"
    assert _reason(fetcher, f"http://127.0.0.1:{closed}/a.jpg") == "refused"

    def no_route(*args):
        raise OSError(errno.ENETUNREACH, "Network is unreachable")

    monkeypatch.setattr(connections, "_connect_first", no_route)
    assert _reason(fetcher, f"http://127.0.0.1:{closed}/a.jpg") == "unreachable"
    assert lookups == ["photos.invalid", "gone.example.org", "127.0.0.1", "127.0.0.1"]  # one try
    reasons = ["dns", "unreachable", "no_such_host", "refused"]
    assert all(is_transient(r) for r in reasons)  # --retry-failed tries them again
    assert [r in NETWORK_DOWN for r in reasons] == [True, True, False, False]


def test_a_name_lookup_without_answer_fails_as_dns_after_the_connect_timeout(monkeypatch):
    answer, lookups = threading.Event(), []
    real = socket.getaddrinfo

    def late(host, port, *args, **kwargs):  # a resolver that answers after seconds
        lookups.append(host)
        answer.wait(5)  # unbounded, the fetch waits this out and ends as `timeout`
        return real("127.0.0.1", port, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", late)
    try:  # timeout_s is 0.3
        assert _reason(Fetcher(FAST), "http://photos.example.org:9/a.jpg") == "dns"
    finally:
        answer.set()
    assert lookups == ["photos.example.org"]  # one try: a name server that is down stays down


@pytest.mark.parametrize(
    ("address", "public"),
    [("8.8.8.8", True), ("2606:4700:4700::1111", True), ("::ffff:8.8.8.8", True),
     ("127.0.0.1", False), ("10.1.2.3", False), ("172.16.0.1", False), ("192.168.1.1", False),
     ("169.254.169.254", False), ("100.64.0.1", False), ("0.0.0.0", False), ("224.0.0.1", False),
     ("::1", False), ("fe80::1%eth0", False), ("fc00::1", False), ("::ffff:127.0.0.1", False),
     ("ff02::1", False)],
)  # fmt: skip
def test_loopback_private_link_local_and_multicast_addresses_are_not_public(address, public):
    assert connections.is_public(address) is public


def test_non_public_hosts_are_refused_before_any_request_unless_allowed(monkeypatch):
    jpg = jpeg_bytes()
    real = socket.getaddrinfo

    def lookup(host, *args, **kwargs):  # an archive's host name that resolves to loopback
        return real("127.0.0.1" if host == "photos.example.org" else host, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", lookup)
    monkeypatch.setattr(connections, "is_public", lambda address: address == "127.0.0.2")
    inner = ImageServer({"/a.jpg": [(200, "image/jpeg", jpg, 0)]})
    outer = ImageServer({"/b.jpg": [(200, "image/jpeg", jpg, 0)]}, host="127.0.0.2")  # "public"
    with inner, outer, Fetcher(FAST.model_copy(update={"private_hosts": False})) as guarded:
        outer.routes["/in.jpg"] = [(302, "text/plain", b"", 0, {"Location": inner.url("/a.jpg")})]
        port = inner.httpd.server_address[1]
        assert _reason(guarded, inner.url("/a.jpg")) == "private_address"
        assert _reason(guarded, f"http://photos.example.org:{port}/a.jpg") == "private_address"
        assert guarded.fetch(outer.url("/b.jpg")) == jpg
        assert _reason(guarded, outer.url("/in.jpg")) == "private_address"  # a redirect inwards
        assert inner.hits == {}  # no request reached the loopback server
        assert Fetcher(FAST).fetch(inner.url("/a.jpg")) == jpg  # embed.private_hosts: true
    # a later run with embed.private_hosts (or another local_root) redoes them on --retry-failed
    assert is_transient("private_address") and is_transient("outside_root")


def test_a_proxy_on_a_private_address_is_used_and_resolves_the_host(monkeypatch):
    jpg = jpeg_bytes()
    lookups = []
    real = socket.getaddrinfo

    def lookup(host, *args, **kwargs):
        lookups.append(host)
        return real(host, *args, **kwargs)

    monkeypatch.setattr(socket, "getaddrinfo", lookup)
    for name in ("NO_PROXY", "no_proxy", "http_proxy"):
        monkeypatch.delenv(name, raising=False)
    url = "http://photos.example.org/a.jpg"
    with ImageServer({url: [(200, "image/jpeg", jpg, 0)]}) as proxy:  # forward proxy: full URL
        monkeypatch.setenv("HTTP_PROXY", proxy.url(""))
        with Fetcher(FAST.model_copy(update={"private_hosts": False})) as guarded:
            assert guarded.fetch(url) == jpg
    assert proxy.hits == {url: 1} and lookups == ["127.0.0.1"]  # the proxy, never the photo host


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
