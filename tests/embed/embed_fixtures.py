"""Helpers for the embedding tests: tiny models saved the way the hubs store them, small JPEGs."""

from __future__ import annotations

import contextlib
import io
import json
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import numpy as np
import pandas as pd
import torch
from PIL import Image

TINY_CLIP = {
    "embed_dim": 16,
    "vision_cfg": {"image_size": 32, "layers": 1, "width": 32, "head_width": 16, "patch_size": 16},
    "text_cfg": {"context_length": 16, "vocab_size": 49408, "width": 32, "heads": 2, "layers": 1},
}


def save_tiny_open_clip(folder: Path) -> Path:
    """A random-weight CLIP laid out like an open_clip hf-hub repository."""
    import open_clip

    folder.mkdir(parents=True, exist_ok=True)
    torch.manual_seed(0)
    model = open_clip.CLIP(**TINY_CLIP)
    torch.save(model.state_dict(), folder / "open_clip_pytorch_model.bin")
    config = {
        "model_cfg": TINY_CLIP,
        "preprocess_cfg": {"mean": [0.48, 0.46, 0.41], "std": [0.27, 0.26, 0.28]},
    }
    (folder / "open_clip_config.json").write_text(json.dumps(config))
    return folder


def save_tiny_timm(folder: Path) -> Path:
    """timm's tiny `test_efficientnet` with random weights, saved as a hub folder."""
    import timm
    from timm.models._hub import save_for_hf

    torch.manual_seed(0)
    save_for_hf(timm.create_model("test_efficientnet", pretrained=False), str(folder))
    return folder


def write_jpegs(folder: Path, n: int, size: int = 48, seed: int = 0) -> list[str]:
    """n small distinct JPEGs (smooth colour gradients plus noise); returns their paths."""
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:size, 0:size] / size
    paths = []
    for i in range(n):
        base = rng.random(3)[None, None] * np.stack([xx, yy, 1 - xx], -1)
        pixels = np.clip(base + 0.2 * rng.random((size, size, 3)), 0, 1)
        path = folder / f"{i}.jpg"
        Image.fromarray((pixels * 255).astype(np.uint8)).save(path, quality=90)
        paths.append(str(path))
    return paths


def observation_table(urls: list[str], first_id: int = 1000) -> pd.DataFrame:
    n = len(urls)
    return pd.DataFrame(
        {
            "gbif_id": np.arange(first_id, first_id + n, dtype=np.int64),
            "species_key": np.arange(n, dtype=np.int64) % 3 + 10,
            "species": [f"Genus species{i % 3}" for i in range(n)],
            "lat": np.linspace(43.0, 49.0, n),
            "lon": np.linspace(-1.0, 7.0, n),
            "image_url": urls,
        }
    )


def jpeg_bytes(size: int = 40, color=(200, 120, 40)) -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (size, size), color).save(buf, format="JPEG", quality=90)
    return buf.getvalue()


def bomb_png(side: int = 4000) -> bytes:
    """A PNG of a few kB that would decode to side x side pixels."""
    buf = io.BytesIO()
    Image.new("1", (side, side)).save(buf, format="PNG")
    return buf.getvalue()


class Drip:
    """A scripted answer sent as raw bytes: the first `fast` at once, then one byte every
    `interval` seconds (a hostile slow server); `sent` counts the bytes the client took."""

    def __init__(self, raw: bytes, interval: float, fast: int = 0):
        self.raw, self.interval, self.fast = raw, interval, fast
        self.sent = 0

    def send(self, wfile) -> None:
        try:
            wfile.write(self.raw[: self.fast])
            wfile.flush()
            self.sent = self.fast
            for k in range(self.fast, len(self.raw)):
                time.sleep(self.interval)
                wfile.write(self.raw[k : k + 1])
                wfile.flush()
                self.sent = k + 1
        except OSError:
            pass  # the client hung up


class ImageServer:
    """A loopback HTTP/1.1 (keep-alive) server with scripted answers per path.

    `routes[path]` is a list of (status, content_type, body, delay_s[, headers]) or `Drip`s;
    request k to a path gets entry min(k, last), so [500, 200] means "500 then 200". Records hits
    and client ports."""

    def __init__(self, routes: dict[str, list], host: str = "127.0.0.1"):
        self.routes = routes
        self.host = host
        self.hits: dict[str, int] = {}
        self.ports: set[int] = set()
        server = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_GET(self):  # noqa: N802 (http.server API)
                k = server.hits.get(self.path, 0)
                server.hits[self.path] = k + 1
                server.ports.add(self.client_address[1])
                script = server.routes.get(self.path, [(404, "text/plain", b"no", 0)])
                entry = script[min(k, len(script) - 1)]
                if isinstance(entry, Drip):
                    entry.send(self.wfile)
                    self.close_connection = True
                    return
                status, ctype, body, delay, *headers = entry
                if delay:
                    time.sleep(delay)  # the slow server under test
                self.send_response(status)
                self.send_header("Content-Type", ctype)
                self.send_header("Content-Length", str(len(body)))
                for name, value in (headers[0] if headers else {}).items():
                    self.send_header(name, value)
                self.end_headers()
                with contextlib.suppress(OSError):
                    self.wfile.write(body)

            def log_message(self, *args):
                pass

        self.httpd = ThreadingHTTPServer((host, 0), Handler)
        self.httpd.daemon_threads = True
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def url(self, path: str) -> str:
        return f"http://{self.host}:{self.httpd.server_address[1]}{path}"

    def __enter__(self) -> ImageServer:
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
