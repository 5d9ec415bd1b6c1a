"""The http(s) connections of a fetch, with the guards urllib3 does not have.

A `Deadline` cuts its request's connection once the download's time is up; each new connection
looks its host up for at most the connect timeout and, unless the request allows private hosts,
connects only to public addresses (`PrivateAddressError` otherwise). `DeadlineAdapter` mounts
these connections in a requests session, direct and through a proxy.
"""

from __future__ import annotations

import contextlib
import ipaddress
import socket
import sys
import threading

from requests.adapters import HTTPAdapter
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool
from urllib3.exceptions import (
    ConnectTimeoutError,
    LocationParseError,
    NameResolutionError,
    NewConnectionError,
)
from urllib3.poolmanager import ProxyManager


class PrivateAddressError(Exception):
    """A host that resolves only to non-public addresses, on a request that does not allow them."""


_ACTIVE = threading.local()  # the Deadline of the request this thread is making


class Deadline:
    """Cuts the connection of this thread's request once `seconds` have passed.

    Read timeouts bound each wait for data, not a download: a server sending a byte now and then
    (headers or body) would hold a worker for hours. A timer thread shuts the socket down, which
    ends any blocked read at once; `expired` tells the reader that what it got is incomplete.
    `private_hosts` says whether the request's connections may go to non-public addresses.
    """

    def __init__(self, seconds: float, private_hosts: bool = False):
        self.expired = False
        self.private_hosts = private_hosts
        self._connection: HTTPConnection | None = None
        self._lock = threading.Lock()
        self._timer = threading.Timer(seconds, self._expire)
        self._timer.daemon = True

    def __enter__(self) -> Deadline:
        _ACTIVE.deadline = self
        self._timer.start()
        return self

    def __exit__(self, *exc) -> None:
        self._timer.cancel()
        with self._lock:
            self._connection = None  # back in the pool: no longer ours to cut
        _ACTIVE.deadline = None

    def watch(self, connection: HTTPConnection) -> None:
        with self._lock:
            self._connection = connection

    def _expire(self) -> None:
        with self._lock:
            self.expired = True
            sock = getattr(self._connection, "sock", None)
            if sock is not None:
                with contextlib.suppress(OSError):  # the plain socket's, under TLS too
                    socket.socket.shutdown(sock, socket.SHUT_RDWR)


def _watched(connection: HTTPConnection) -> None:
    deadline = getattr(_ACTIVE, "deadline", None)
    if deadline is not None:
        deadline.watch(connection)


class _GuardedConnection:
    """An http(s) connection that its request's Deadline watches (from the connect, whose TLS
    handshake reads too, and at every request on a reused connection), its socket opened with two
    guards.

    The name lookup waits at most the connect timeout (then fails as a NameResolutionError): the
    system resolver's own limit (tries x name servers x 5 s) is not the download's. And a URI
    from an archive (or a redirect) must not reach the machine's own network, so a host that
    resolves only to loopback, private, link-local or reserved addresses is refused unless the
    request's Deadline allows private hosts. A proxy (the user's, not the archive's) is
    connected to as it is: it resolves the hosts.
    """

    def _new_conn(self) -> socket.socket:
        deadline = getattr(_ACTIVE, "deadline", None)
        wait = (
            self.timeout if isinstance(self.timeout, (int, float)) else socket.getdefaulttimeout()
        )
        infos = _lookup(self, self._dns_host.strip("[]"), self.port, wait)
        if not self.proxy and not (deadline is not None and deadline.private_hosts):
            infos = _public_addresses(infos, self.host)
        try:
            sock = _connect_first(infos, wait, self.source_address, self.socket_options)
        except TimeoutError as err:
            raise ConnectTimeoutError(
                self, f"Connection to {self.host} timed out. (connect timeout={wait})"
            ) from err
        except OSError as err:
            raise NewConnectionError(self, f"Failed to establish a new connection: {err}") from err
        sys.audit("http.client.connect", self, self.host, self.port)
        return sock

    def connect(self) -> None:
        _watched(self)
        super().connect()

    def request(self, *args, **kwargs) -> None:
        _watched(self)
        super().request(*args, **kwargs)


def _lookup(connection, host: str, port: int, wait: float | None) -> list[tuple]:
    """getaddrinfo in a daemon thread, waited on for at most `wait` seconds; a lookup that
    outlives the wait ends in its thread and is dropped."""
    answer: dict = {}
    done = threading.Event()

    def resolve() -> None:
        try:
            answer["infos"] = socket.getaddrinfo(host, port, 0, socket.SOCK_STREAM)
        except Exception as err:  # noqa: BLE001 (handed to the waiting thread)
            answer["error"] = err
        finally:
            done.set()

    threading.Thread(target=resolve, name=f"lookup {host}", daemon=True).start()
    if not done.wait(wait):  # what the system resolver says after its own, longer wait
        unanswered = socket.gaierror(socket.EAI_AGAIN, f"no answer to the name lookup in {wait} s")
        raise NameResolutionError(host, connection, unanswered) from unanswered
    error = answer.get("error")
    if isinstance(error, socket.gaierror):
        raise NameResolutionError(host, connection, error) from error
    if isinstance(error, UnicodeError):
        raise LocationParseError(f"{host!r}: {error}") from error
    if error is not None:
        raise NewConnectionError(
            connection, f"Failed to establish a new connection: {error}"
        ) from error
    return answer["infos"]


def _public_addresses(infos: list[tuple], host: str) -> list[tuple]:
    public = [info for info in infos if is_public(info[4][0])]
    if not public:
        address = infos[0][4][0]
        where = host if address == host else f"{host} ({address})"
        raise PrivateAddressError(
            f"{where} is not a public address; embed.private_hosts: true fetches from it"
        )
    return public


def is_public(address: str) -> bool:
    ip = ipaddress.ip_address(address.split("%")[0])  # an IPv6 scope (fe80::1%eth0)
    if ip.version == 6 and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return ip.is_global and not ip.is_multicast


def _connect_first(infos, wait, source_address, socket_options) -> socket.socket:
    """A socket connected to the first of `infos` that answers (urllib3's create_connection,
    on addresses already looked up)."""
    error: OSError | None = None
    for family, kind, proto, _, address in infos:
        sock = socket.socket(family, kind, proto)
        try:
            for option in socket_options or ():
                sock.setsockopt(*option)
            sock.settimeout(wait)
            if source_address:
                sock.bind(source_address)
            sock.connect(address)
            return sock
        except OSError as err:
            error = err
            sock.close()
    raise error if error is not None else OSError(f"no address to connect to: {infos}")


class _GuardedHTTPConnection(_GuardedConnection, HTTPConnection):
    """urllib3's http connection, guarded."""


class _GuardedHTTPSConnection(_GuardedConnection, HTTPSConnection):
    """urllib3's https connection, guarded."""


class _HTTPPool(HTTPConnectionPool):
    ConnectionCls = _GuardedHTTPConnection


class _HTTPSPool(HTTPSConnectionPool):
    ConnectionCls = _GuardedHTTPSConnection


_POOLS = {"http": _HTTPPool, "https": _HTTPSPool}


class DeadlineAdapter(HTTPAdapter):
    """requests' adapter with connections a `Deadline` can cut (direct and through a proxy)."""

    def init_poolmanager(self, *args, **kwargs) -> None:
        super().init_poolmanager(*args, **kwargs)
        self.poolmanager.pool_classes_by_scheme = dict(_POOLS)

    def proxy_manager_for(self, proxy, **proxy_kwargs):
        manager = super().proxy_manager_for(proxy, **proxy_kwargs)
        if isinstance(manager, ProxyManager):  # not SOCKS, which has pools of its own
            manager.pool_classes_by_scheme = dict(_POOLS)
        return manager
