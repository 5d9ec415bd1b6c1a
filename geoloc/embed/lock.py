"""One process at a time on a path: an exclusive lock on a lock file beside it.

The kernel releases a `flock` when its holder exits, however it exits (kill -9 included), so a
crash never leaves a stale lock behind; the file names its holder for the message of the next
one. The holder removes the file when it is done; a process that opened the file just before
that locks a removed file, notices (the path no longer leads to its file) and tries again.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import socket
from collections.abc import Iterator
from pathlib import Path

from geoloc.errors import GeolocError


def lock_path(path: Path) -> Path:
    """The lock file of `path`: hidden beside it (`.<name>.lock`)."""
    return path.parent / f".{path.name.removeprefix('.')}.lock"


@contextlib.contextmanager
def exclusive(path: str | os.PathLike, what: str) -> Iterator[None]:
    """Hold the lock of `path` for the block; GeolocError naming the holder if another has it."""
    lock = lock_path(Path(path))
    lock.parent.mkdir(parents=True, exist_ok=True)
    fd = _acquire(lock, what)
    try:
        os.ftruncate(fd, 0)
        os.write(fd, f"pid {os.getpid()} on {socket.gethostname()}".encode())
        yield
    finally:
        with contextlib.suppress(FileNotFoundError):
            lock.unlink()  # while still locked: a waiting opener sees the file gone
        os.close(fd)


def _acquire(lock: Path, what: str) -> int:
    while True:
        fd = os.open(lock, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.read(fd, 200).decode(errors="replace") or "another process"
            os.close(fd)
            raise GeolocError(
                f"another run ({holder}) is writing {what}; wait for it to finish, then rerun "
                f"(its lock: {lock})"
            ) from None
        try:
            if os.stat(lock).st_ino == os.fstat(fd).st_ino:
                return fd
        except FileNotFoundError:
            pass
        os.close(fd)  # locked a file its holder had just removed: lock the new one
