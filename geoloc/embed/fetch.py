"""Fetch image bytes by URI: http(s) (pooled keep-alive connections per worker thread, timeouts,
retries with exponential backoff on 429/5xx, size cap, content-type check), local paths and
`file:` URIs (the demo). Every failure is a `FetchError` with a short stable reason that ends up
under `/failed/reason` in the embedding file; `is_transient(reason)` says whether retrying later
(`--retry-failed`) can help.
"""

from __future__ import annotations

import re
import threading
import time
from pathlib import Path
from urllib.parse import urlsplit
from urllib.request import url2pathname

import requests
from requests.adapters import HTTPAdapter

from geoloc import __version__
from geoloc.params import EmbedParams

# content types a photo server may legitimately send (S3 often sends octet-stream)
ACCEPTED_TYPES = ("image/", "application/octet-stream", "binary/octet-stream")


INAT_PHOTO = re.compile(
    r"^(https?://(?:static\.inaturalist\.org|inaturalist-open-data\.s3\.amazonaws\.com)"
    r"/photos/\d+/)original(\.\w+)$"
)


def inat_photo_url(url: str, size: str) -> str:
    """iNaturalist serves each photo in several sizes; GBIF lists `original` (often megabytes).
    `medium` (~500 px) is plenty for 224 px models and far faster to fetch."""
    if size == "original" or not isinstance(url, str):
        return url
    return INAT_PHOTO.sub(rf"\g<1>{size}\g<2>", url)


def is_transient(reason: str) -> bool:
    """Failures that may go away on a later try: timeouts, dropped connections, 429 and 5xx."""
    return reason in {"timeout", "connection", "http_429"} or reason.startswith("http_5")


class FetchError(Exception):
    """An image could not be fetched; `reason` is short and stable (e.g. `http_404`)."""

    def __init__(self, reason: str, detail: str = "", retry_after: float | None = None):
        super().__init__(f"{reason}: {detail}" if detail else reason)
        self.reason = reason
        self.retry_after = retry_after

    @property
    def transient(self) -> bool:
        return is_transient(self.reason)


class Fetcher:
    """Thread-safe fetcher: each worker thread reuses its own `requests.Session` connections.

    Limits come from `embed:` (timeout_s: connect, per-read and whole-download limit; retries
    after a transient failure, the first after backoff_s, doubling; max_bytes), and each thread
    keeps up to `workers` connections per host alive.
    """

    def __init__(self, params: EmbedParams | None = None, base_dir: str | Path | None = None):
        self.params = params or EmbedParams()
        self.base_dir = Path(base_dir) if base_dir is not None else None
        self._local = threading.local()
        self._sessions: list[requests.Session] = []
        self._lock = threading.Lock()

    def __enter__(self) -> Fetcher:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def close(self) -> None:
        with self._lock:
            for session in self._sessions:
                session.close()
            self._sessions.clear()

    def fetch(self, uri: str) -> bytes:
        """The bytes behind `uri`, or FetchError."""
        parts = urlsplit(uri)
        scheme = parts.scheme.lower()
        if scheme in {"http", "https"}:
            return self._http(uri)
        if scheme == "file":
            return self._file(Path(url2pathname(parts.path)))
        if scheme == "" or (len(scheme) == 1 and uri[1:3] in {":\\", ":/"}):  # C:\ on Windows
            path = Path(uri)
            if self.base_dir is not None and not path.is_absolute():
                path = self.base_dir / path
            return self._file(path)
        raise FetchError("unsupported_scheme", f"{scheme}: (only http, https, file, paths)")

    # ----------------------------------------------------------------------------- local files

    def _file(self, path: Path) -> bytes:
        try:
            size = path.stat().st_size
            if size > self.params.max_bytes:
                raise FetchError("too_large", f"{size} bytes")
            return path.read_bytes()
        except FileNotFoundError:
            raise FetchError("not_found", str(path)) from None
        except IsADirectoryError:
            raise FetchError("not_found", f"{path} is a directory") from None

    # ---------------------------------------------------------------------------------- http

    def _session(self) -> requests.Session:
        session = getattr(self._local, "session", None)
        if session is None:
            session = requests.Session()
            pool = self.params.workers
            adapter = HTTPAdapter(pool_connections=pool, pool_maxsize=pool)
            session.mount("http://", adapter)
            session.mount("https://", adapter)
            session.headers["User-Agent"] = f"geoloc/{__version__} (image embedding)"
            self._local.session = session
            with self._lock:
                self._sessions.append(session)
        return session

    def _http(self, url: str) -> bytes:
        retries = self.params.retries
        for attempt in range(retries + 1):
            try:
                return self._http_once(url)
            except FetchError as err:
                if not err.transient or attempt == retries:
                    raise
                delay = self.params.backoff_s * 2**attempt
                if err.retry_after is not None:
                    delay = max(delay, min(err.retry_after, 60.0))
                time.sleep(delay)
        raise AssertionError("unreachable")

    def _http_once(self, url: str) -> bytes:
        cfg = self.params
        deadline = time.monotonic() + cfg.timeout_s
        try:
            with self._session().get(url, stream=True, timeout=cfg.timeout_s) as resp:
                status = resp.status_code
                if status != 200:
                    raise FetchError(f"http_{status}", url, retry_after=_retry_after(resp.headers))
                ctype = resp.headers.get("Content-Type", "").split(";")[0].strip().lower()
                if ctype and not ctype.startswith(ACCEPTED_TYPES):
                    raise FetchError("not_image", f"Content-Type {ctype}")
                length = resp.headers.get("Content-Length", "")
                if length.isdigit() and int(length) > cfg.max_bytes:
                    raise FetchError("too_large", f"{length} bytes")
                body = bytearray()
                for chunk in resp.iter_content(chunk_size=1 << 16):
                    body += chunk
                    if len(body) > cfg.max_bytes:
                        raise FetchError("too_large", f"over {cfg.max_bytes} bytes")
                    if time.monotonic() > deadline:
                        raise FetchError("timeout", f"download over {cfg.timeout_s} s")
                return bytes(body)
        except requests.Timeout:
            raise FetchError("timeout", url) from None
        except requests.RequestException as err:
            raise FetchError("connection", f"{type(err).__name__}: {err}") from None


def _retry_after(headers) -> float | None:
    value = headers.get("Retry-After", "")
    try:
        return float(value)
    except ValueError:
        return None
