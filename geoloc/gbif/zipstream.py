"""Streaming one zip member's bytes: inflated with ISA-L, checked against the zip directory, and
prefetched by a background thread so inflating overlaps with parsing.

Inflating dominates reading an archive; ISA-L's inflate is 2-3x faster than zlib's and releases
the GIL. Anything wrong inside the member raises one of `DAMAGED`.
"""

from __future__ import annotations

import struct
import zipfile
import zlib
from collections.abc import Callable, Iterator
from pathlib import Path

from isal import isal_zlib

from geoloc.gbif.readahead import ReadAhead

# What reading a damaged member raises (zipfile and zlib for methods other than stored/deflated)
DAMAGED = (zipfile.BadZipFile, zlib.error, isal_zlib.error, EOFError)

_MEMBER_METHODS = (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED)
_LOCAL_HEADER = struct.Struct("<4s22xHH")  # signature ... file name length, extra field length
_INPUT_CHUNK = 1 << 16  # compressed bytes read at a time


def open_member(archive: zipfile.ZipFile, path: Path, info: zipfile.ZipInfo):
    """The member's decompressed byte stream, read straight out of the zip at `path`.

    Stored and deflated members (every GBIF download) go through `MemberReader`; anything else
    (encrypted, bzip2, lzma) through `zipfile`.
    """
    if info.flag_bits & 0x1 or info.compress_type not in _MEMBER_METHODS:
        return archive.open(info)
    return MemberReader(path, info)


class MemberReader:
    """A stored or deflated zip member's bytes, checked against the CRC-32 and size in the directory.

    `read(size)` returns at most `size` bytes, and fewer at will; b"" only at the end, once the
    checks have passed. Owns its file handle, so a background thread can read it while the zip
    is used elsewhere.
    """

    def __init__(self, path: Path, info: zipfile.ZipInfo):
        self._info = info
        self._file = path.open("rb")
        try:
            self._file.seek(info.header_offset)
            header = self._file.read(_LOCAL_HEADER.size)
            if len(header) < _LOCAL_HEADER.size or header[:4] != b"PK\x03\x04":
                raise zipfile.BadZipFile("Bad magic number for file header")
            name_length, extra_length = _LOCAL_HEADER.unpack(header)[1:]
            self._file.seek(name_length + extra_length, 1)
        except BaseException:
            self._file.close()
            raise
        self._left = info.compress_size
        self._inflater = (
            isal_zlib.decompressobj(-15) if info.compress_type == zipfile.ZIP_DEFLATED else None
        )
        self._crc = 0
        self._size = 0
        self._line = b""  # what readline read past the end of its line

    def _input(self, size: int) -> bytes:
        data = self._file.read(min(size, self._left))
        self._left -= len(data)
        if not data and self._left:
            raise EOFError("the zip ends inside the member's compressed data")
        return data

    def read(self, size: int = -1) -> bytes:
        if size < 0:
            return b"".join(iter(lambda: self.read(1 << 20), b""))
        if size == 0:  # (a max_length of 0 means no limit to inflate)
            return b""
        if self._line:
            data, self._line = self._line[:size], self._line[size:]
            return data
        if self._inflater is None:
            data = self._input(size)
        else:
            data = b""
            while not data and not self._inflater.eof:
                compressed = self._inflater.unconsumed_tail or self._input(_INPUT_CHUNK)
                data = self._inflater.decompress(compressed, size)  # b"" input: drain its buffer
                if not data and not compressed and not self._inflater.eof:
                    raise EOFError(
                        "Compressed file ended before the end-of-stream marker was reached"
                    )
        if not data:
            self._check()
            return data
        self._crc = isal_zlib.crc32(data, self._crc)
        self._size += len(data)
        return data

    def _check(self) -> None:
        if self._size != self._info.file_size:
            raise zipfile.BadZipFile(
                f"{self._info.filename!r} inflates to {self._size} bytes, not "
                f"{self._info.file_size}"
            )
        if self._crc != self._info.CRC:
            raise zipfile.BadZipFile(f"Bad CRC-32 for file {self._info.filename!r}")

    def readline(self, limit: int = -1) -> bytes:
        """The next line, or its first `limit` bytes (a file without line breaks ends nowhere)."""
        chunks, size = [], 0
        while limit < 0 or size < limit:
            chunk = self.read(1 << 16)
            if not chunk:
                break
            chunks.append(chunk)
            size += len(chunk)
            if b"\n" in chunk:
                break
        line = b"".join(chunks)
        end = line.find(b"\n") + 1 or len(line)
        if limit >= 0:
            end = min(end, limit)
        self._line = line[end:] + self._line
        return line[:end]

    def close(self) -> None:
        self._file.close()

    def __enter__(self) -> MemberReader:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def _chunks(raw, size: int) -> Iterator[bytes]:
    with raw:
        while data := raw.read(size):
            yield data


class Prefetcher:
    """A read-only file over a member stream, inflated by a background thread.

    Inflating the next chunks overlaps with the consumer parsing the current one; at most a few
    chunks wait in memory. `on_bytes` is called with the size of each read.
    """

    def __init__(self, raw, chunk_size: int, on_bytes: Callable[[int], None] | None):
        self._chunks = ReadAhead(_chunks(raw, chunk_size), depth=3)
        self._pending = b""
        self._on_bytes = on_bytes
        self.closed = False

    def read(self, size: int = -1) -> bytes:
        if not self._pending:
            self._pending = next(self._chunks, b"")  # b"" at the end or once closed
        if size < 0 or size >= len(self._pending):
            data, self._pending = self._pending, b""
        else:
            data, self._pending = self._pending[:size], self._pending[size:]
        if self._on_bytes:
            self._on_bytes(len(data))
        return data

    def readable(self) -> bool:
        return True

    def close(self) -> None:
        self.closed = True
        self._chunks.close()
