"""Fetch image bytes by URI: http(s) (pooled keep-alive connections per worker thread, a deadline
per download, name lookups bounded by the connect timeout, public addresses only unless
`embed.private_hosts`, retries with exponential backoff on 429/5xx, size cap, content-type check),
local paths and `file:` URIs (the demo), read only below `embed.local_root` and only from regular
files.

An archive supplies the URIs, so each one is hostile until proven otherwise: every failure is a
`FetchError` with a short stable reason that ends up under `/failed/reason` in the embedding file,
never an exception that stops the run. `is_transient(reason)` says whether a later run
(`--retry-failed`) can help; `retried_now(reason)` whether this run tries again at once.
"""

from __future__ import annotations

import os
import re
import socket
import stat
import threading
import time
from pathlib import Path
from urllib.parse import urlsplit
from urllib.request import url2pathname

import requests
from requests.exceptions import InvalidSchema, InvalidURL, MissingSchema
from urllib3.exceptions import NameResolutionError, NewConnectionError

from geoloc import __version__
from geoloc.embed.connections import Deadline, DeadlineAdapter, PrivateAddressError
from geoloc.params import EmbedParams

# content types a photo server may legitimately send (S3 often sends octet-stream)
ACCEPTED_TYPES = ("image/", "application/octet-stream", "binary/octet-stream")
MAX_REDIRECTS = 5  # photo hosts redirect once or twice (CDN, https); a loop is not retried
READ_CHUNK = 1 << 16

# no answer from the name server or no route to the host: the network (or the host) is down
NETWORK_DOWN = frozenset({"dns", "unreachable"})
# a name that does not exist, a host that refuses: that host is down, not the network
HOST_DOWN = frozenset({"no_such_host", "refused"})
NO_SUCH_NAME = frozenset({socket.EAI_NONAME, getattr(socket, "EAI_NODATA", socket.EAI_NONAME)})
# refused by a setting of `embed:`, not by the photo or its host
SETTING_DEPENDENT = frozenset({"outside_root", "private_address"})


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


def retried_now(reason: str) -> bool:
    """Failures worth another try after a short backoff: timeouts, dropped connections, 429, 5xx.
    A failed name lookup or a connection not made fails the same way a second later."""
    return reason in {"timeout", "connection", "http_429"} or reason.startswith("http_5")


def is_transient(reason: str) -> bool:
    """Failures that may go away in a later run: those retried now, a network or host that was
    down, and those a changed setting undoes (embed.local_root, embed.private_hosts)."""
    return retried_now(reason) or reason in NETWORK_DOWN | HOST_DOWN | SETTING_DEPENDENT


class FetchError(Exception):
    """An image could not be fetched; `reason` is short and stable (e.g. `http_404`)."""

    def __init__(self, reason: str, detail: str = "", retry_after: float | None = None):
        super().__init__(f"{reason}: {detail}" if detail else reason)
        self.reason = reason
        self.retry_after = retry_after


class Fetcher:
    """Thread-safe fetcher: each worker thread reuses its own `requests.Session` connections.

    Limits come from `embed:` (timeout_s: connect and per-read limit, and the deadline of a whole
    download; retries after a transient failure, the first after backoff_s, doubling; max_bytes;
    local_root), and each thread keeps up to `workers` connections per host alive.
    """

    def __init__(self, params: EmbedParams | None = None):
        self.params = params or EmbedParams()
        self.root = Path(self.params.local_root).expanduser().resolve()
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
        try:
            parts = urlsplit(uri)
            scheme = parts.scheme.lower()
            if scheme in {"http", "https"}:
                return self._http(uri)
            if scheme == "file":
                return self._file(Path(url2pathname(parts.path)))
            if scheme == "" or (len(scheme) == 1 and uri[1:3] in {":\\", ":/"}):  # C:\ on Windows
                return self._file(Path(uri))
        except ValueError as err:  # an unparsable URL, a NUL byte, a bad host name
            raise FetchError("bad_uri", f"{uri!r}: {err}") from None
        raise FetchError("unsupported_scheme", f"{scheme}: (only http, https, file, paths)")

    # ----------------------------------------------------------------------------- local files

    def _file(self, path: Path) -> bytes:
        """A regular file below the root, read up to max_bytes (a device or FIFO never is)."""
        try:
            resolved = (self.root / path).resolve()  # an absolute `path` stays absolute
        except (OSError, RuntimeError) as err:  # a symlink loop
            raise FetchError("unreadable", f"{path}: {err}") from None
        if not resolved.is_relative_to(self.root):
            raise FetchError("outside_root", f"{path} is not under {self.root} (embed.local_root)")
        try:
            # non-blocking: opening a FIFO must not wait for a writer
            fd = os.open(resolved, os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0))
        except FileNotFoundError:
            raise FetchError("not_found", str(path)) from None
        except OSError as err:
            raise FetchError("unreadable", f"{path}: {err.strerror}") from None
        try:
            info = os.fstat(fd)
            if not stat.S_ISREG(info.st_mode):
                raise FetchError("not_a_file", f"{path} is not a regular file")
            if info.st_size > self.params.max_bytes:
                raise FetchError("too_large", f"{info.st_size} bytes")
            data = _read_at_most(fd, self.params.max_bytes + 1)  # st_size may lie (/proc)
        except OSError as err:
            raise FetchError("unreadable", f"{path}: {err.strerror}") from None
        finally:
            os.close(fd)
        if len(data) > self.params.max_bytes:
            raise FetchError("too_large", f"over {self.params.max_bytes} bytes")
        return data

    # ---------------------------------------------------------------------------------- http

    def _session(self) -> requests.Session:
        session = getattr(self._local, "session", None)
        if session is None:
            session = requests.Session()
            adapter = DeadlineAdapter(pool_connections=self.params.workers,
                                      pool_maxsize=self.params.workers)  # fmt: skip
            session.mount("http://", adapter)
            session.mount("https://", adapter)
            session.max_redirects = MAX_REDIRECTS
            session.headers["User-Agent"] = f"geoloc/{__version__} (image embedding)"
            session.headers["Accept-Encoding"] = "identity"  # photos are compressed already
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
                if not retried_now(err.reason) or attempt == retries:
                    raise
                delay = self.params.backoff_s * 2**attempt
                if err.retry_after is not None:
                    delay = max(delay, min(err.retry_after, 60.0))
                time.sleep(delay)
        raise AssertionError("unreachable")

    def _http_once(self, url: str) -> bytes:
        cfg = self.params
        deadline = Deadline(cfg.timeout_s, cfg.private_hosts)
        try:
            with deadline, self._session().get(url, stream=True, timeout=cfg.timeout_s) as resp:
                _check_headers(resp, url, cfg.max_bytes)
                body = bytearray()
                # raw bytes: a Content-Encoding (a gzip bomb) is not inflated
                for chunk in resp.raw.stream(READ_CHUNK, decode_content=False):
                    body += chunk
                    if len(body) > cfg.max_bytes:
                        raise FetchError("too_large", f"over {cfg.max_bytes} bytes")
                    if deadline.expired:
                        break
                if deadline.expired:  # the connection was cut: what arrived is not the photo
                    raise FetchError("timeout", f"download over {cfg.timeout_s} s")
                return bytes(body)
        except PrivateAddressError as err:  # raised before the request, after any redirect
            raise FetchError("private_address", str(err)) from None
        except requests.TooManyRedirects:
            raise FetchError("redirect_loop", f"over {MAX_REDIRECTS} redirects: {url}") from None
        except (InvalidURL, InvalidSchema, MissingSchema) as err:
            raise FetchError("bad_uri", str(err)) from None  # also a redirect to file: or ftp:
        except requests.Timeout:
            raise FetchError("timeout", url) from None
        except requests.RequestException as err:
            reason = _connection_reason(err)
            if deadline.expired and reason == "connection":  # the deadline cuts only a made one
                raise FetchError("timeout", f"download over {cfg.timeout_s} s") from None
            raise FetchError(reason, f"{type(err).__name__}: {err}") from None


def _read_at_most(fd: int, limit: int) -> bytes:
    chunks, size = [], 0
    while size < limit and (chunk := os.read(fd, min(READ_CHUNK, limit - size))):
        chunks.append(chunk)
        size += len(chunk)
    return b"".join(chunks)


def _check_headers(resp: requests.Response, url: str, max_bytes: int) -> None:
    """Refuse an error status, a page that is not an image, or a declared size over the cap."""
    status = resp.status_code
    if status != 200:
        raise FetchError(f"http_{status}", url, retry_after=_retry_after(resp.headers))
    ctype = resp.headers.get("Content-Type", "").split(";")[0].strip().lower()
    if ctype and not ctype.startswith(ACCEPTED_TYPES):
        raise FetchError("not_image", f"Content-Type {ctype}")
    length = resp.headers.get("Content-Length", "")
    if length.isdigit() and int(length) > max_bytes:
        raise FetchError("too_large", f"{length} bytes")


def _connection_reason(err: requests.RequestException) -> str:
    """`dns` (no answer to the name lookup), `no_such_host` (the name does not exist), `refused`
    (the host answered, nothing listens), `unreachable` (no route) or `connection` (dropped).
    Only `dns` and `unreachable` say that the network itself may be down."""
    cause = getattr(err.args[0], "reason", None) if err.args else None
    if not isinstance(cause, NewConnectionError):
        return "connection"
    origin = cause.__cause__  # the socket error, chained by geoloc.embed.connections
    if isinstance(cause, NameResolutionError):
        return "no_such_host" if getattr(origin, "errno", None) in NO_SUCH_NAME else "dns"
    return "refused" if isinstance(origin, ConnectionRefusedError) else "unreachable"


def _retry_after(headers) -> float | None:
    value = headers.get("Retry-After", "")
    try:
        return float(value)
    except ValueError:
        return None
