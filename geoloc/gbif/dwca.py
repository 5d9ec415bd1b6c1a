"""Streaming reader for GBIF Darwin Core Archives (DwC-A zips).

The archive is never extracted: each data file is streamed out of the zip and parsed in blocks by
pyarrow's CSV reader, keeping only the columns asked for, so memory stays bounded whatever the
archive's size. `meta.xml`, not the header row, says which column holds which term, so columns are
requested by term URI. Anything wrong with the archive itself raises one GeolocError.
"""

from __future__ import annotations

import codecs
import queue
import struct
import threading
import xml.etree.ElementTree as ET
import zipfile
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

import pyarrow as pa
import pyarrow.csv as pacsv
from isal import isal_zlib

from geoloc.errors import GeolocError

DWC = "http://rs.tdwg.org/dwc/terms/"
GBIF = "http://rs.gbif.org/terms/1.0/"
DCTERMS = "http://purl.org/dc/terms/"
OCCURRENCE = DWC + "Occurrence"
MULTIMEDIA = GBIF + "Multimedia"
_TEXT_NS = "{http://rs.tdwg.org/dwc/text/}"
ID_TERM = "__id__"  # pseudo-term naming the <id>/<coreid> column of a file

BLOCK_SIZE = 1 << 20  # bytes of text parsed per block: small blocks parse in cache
MIN_BATCH_ROWS = 16384  # rows per batch handed on: amortises per-batch work downstream
# What reading a damaged member raises (zipfile and zlib for methods other than stored/deflated)
_DAMAGED = (zipfile.BadZipFile, zlib.error, isal_zlib.error, EOFError)


@dataclass(frozen=True)
class FileSpec:
    """One data file of the archive as meta.xml describes it."""

    location: str
    row_type: str
    columns: dict[str, int]  # term URI (or ID_TERM) -> column index
    delimiter: str = "\t"
    quote: str = ""
    encoding: str = "UTF-8"
    header_lines: int = 1

    def has(self, term: str) -> bool:
        return term in self.columns


@dataclass
class ReadStats:
    """What a streaming read saw: data rows, and rows with the wrong number of fields."""

    rows: int = 0
    malformed: int = 0
    malformed_examples: list[str] = field(default_factory=list)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def _bad_row(self, row) -> str:
        with self._lock:
            self.malformed += 1
            if len(self.malformed_examples) < 3:
                self.malformed_examples.append(
                    f"{row.actual_columns} fields instead of {row.expected_columns}"
                    + (f" (line {row.number})" if row.number and row.number > 0 else "")
                )
        return "skip"


def _unsafe_member(name: str) -> bool:
    """True for a member name that would escape an extraction folder (absolute, drive, `..`)."""
    normal = name.replace("\\", "/")
    path = PurePosixPath(normal)
    return normal.startswith("/") or (len(normal) > 1 and normal[1] == ":") or ".." in path.parts


def _unescape(value: str | None, default: str) -> str:
    if value is None:
        return default
    return value.replace("\\t", "\t").replace("\\n", "\n").replace("\\r", "\r")


class Archive:
    """An opened DwC-A zip: its descriptor and streaming access to its data files.

    Use as a context manager; `core` is the occurrence core, `extension(row_type)` an extension.
    """

    def __init__(self, path: str | Path):
        self.path = Path(path)
        if not self.path.is_file():
            raise GeolocError(f"archive not found: {self.path}")
        try:
            self._zip = zipfile.ZipFile(self.path)
        except zipfile.BadZipFile:
            raise GeolocError(self._not_a_zip_message()) from None
        except OSError as err:
            raise GeolocError(f"{self.path}: cannot read archive: {err}") from None
        try:
            self._check_members()
            self.core, self.extensions = self._read_meta()
        except BaseException:
            self._zip.close()
            raise

    def __enter__(self) -> Archive:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def close(self) -> None:
        self._zip.close()

    def _not_a_zip_message(self) -> str:
        with self.path.open("rb") as handle:
            start = handle.read(4)
        if start == b"PK\x03\x04":
            return (
                f"{self.path}: the zip archive is truncated or damaged (its central directory "
                "is missing); download it again"
            )
        return f"{self.path}: not a zip archive (a GBIF Darwin Core Archive download is a .zip)"

    def _check_members(self) -> None:
        bad = [info.filename for info in self._zip.infolist() if _unsafe_member(info.filename)]
        if bad:
            raise GeolocError(
                f"{self.path}: refusing an archive with unsafe member paths (absolute or '..'): "
                + ", ".join(repr(name) for name in bad[:5])
            )
        self._names = set(self._zip.namelist())

    def _read_meta(self) -> tuple[FileSpec, dict[str, FileSpec]]:
        if "meta.xml" not in self._names:
            raise GeolocError(
                f"{self.path}: no meta.xml descriptor; not a Darwin Core Archive "
                "(download the 'Darwin Core Archive' format from GBIF)"
            )
        try:
            root = ET.fromstring(self._zip.read("meta.xml"))
        except ET.ParseError as err:
            raise GeolocError(f"{self.path}: meta.xml is not valid XML: {err}") from None
        except (zipfile.BadZipFile, zlib.error, EOFError, RuntimeError, NotImplementedError) as err:
            raise GeolocError(f"{self.path}: cannot read meta.xml: {err}") from None
        core = root.find(f"{_TEXT_NS}core")
        if core is None:
            core = root.find("core")
        if core is None or core.get("rowType") != OCCURRENCE:
            found = core.get("rowType") if core is not None else "none"
            raise GeolocError(
                f"{self.path}: no occurrence core in meta.xml (core rowType is {found}, "
                f"expected {OCCURRENCE}); use a GBIF occurrence download"
            )
        extensions: dict[str, FileSpec] = {}
        for element in list(root.iter(f"{_TEXT_NS}extension")) + list(root.iter("extension")):
            spec = self._file_spec(element, "coreid")
            extensions.setdefault(spec.row_type, spec)
        return self._file_spec(core, "id"), extensions

    def _file_spec(self, element: ET.Element, id_tag: str) -> FileSpec:
        def find(tag: str) -> list[ET.Element]:
            return element.findall(f"{_TEXT_NS}{tag}") + element.findall(tag)

        locations = [
            loc.text.strip() for files in find("files") for loc in files if (loc.text or "").strip()
        ]
        row_type = element.get("rowType", "")
        if not locations:
            raise GeolocError(f"{self.path}: meta.xml names no file for {row_type}")
        location = locations[0]
        if _unsafe_member(location):
            raise GeolocError(f"{self.path}: meta.xml points outside the archive: {location!r}")
        if location not in self._names:
            raise GeolocError(
                f"{self.path}: meta.xml names {location} but the zip has no such file"
            )
        columns: dict[str, int] = {}
        try:
            for node in find("field"):
                if node.get("index") is not None and node.get("term"):
                    columns.setdefault(node.get("term"), int(node.get("index")))
            for node in find(id_tag):
                columns[ID_TERM] = int(node.get("index", "0"))
            header_lines = int(element.get("ignoreHeaderLines", "0"))
        except ValueError as err:
            raise GeolocError(f"{self.path}: meta.xml has a non-integer index: {err}") from None
        encoding = element.get("encoding") or "UTF-8"
        try:
            codecs.lookup(encoding)
        except LookupError:
            raise GeolocError(f"{self.path}: unknown encoding {encoding!r} in meta.xml") from None
        delimiter = _unescape(element.get("fieldsTerminatedBy"), "\t")
        if len(delimiter) != 1:
            raise GeolocError(f"{self.path}: unsupported field separator {delimiter!r}")
        return FileSpec(
            location=location,
            row_type=row_type,
            columns=columns,
            delimiter=delimiter,
            quote=_unescape(element.get("fieldsEnclosedBy"), ""),
            encoding=encoding,
            header_lines=header_lines,
        )

    def extension(self, row_type: str) -> FileSpec | None:
        return self.extensions.get(row_type)

    def member_size(self, spec: FileSpec) -> int:
        """Uncompressed size in bytes (from the zip directory; for progress and planning)."""
        return self._zip.getinfo(spec.location).file_size

    def open_raw(self, spec: FileSpec):
        """The member's decompressed byte stream, read straight out of the zip.

        Stored and deflated members (every GBIF download) go through `_Member`, which inflates
        with ISA-L; anything else (encrypted, bzip2, lzma) through `zipfile`.
        """
        info = self._zip.getinfo(spec.location)
        try:
            if info.flag_bits & 0x1 or info.compress_type not in _MEMBER_METHODS:
                return self._zip.open(info)
            return _Member(self.path, info)
        except (zipfile.BadZipFile, NotImplementedError, RuntimeError, OSError) as err:
            raise GeolocError(f"{self.path}: cannot open {spec.location}: {err}") from None

    def _column_count(self, spec: FileSpec) -> int:
        described = max(spec.columns.values(), default=-1) + 1
        if spec.header_lines == 0:
            return described
        with self.open_raw(spec) as raw:
            try:
                header = raw.readline().decode(spec.encoding, errors="replace").rstrip("\r\n")
            except _DAMAGED as err:
                raise GeolocError(f"{self.path}: {spec.location} is damaged: {err}") from None
        count = header.count(spec.delimiter) + 1 if header else 0
        if count < described:
            raise GeolocError(
                f"{self.path}: {spec.location} has {count} columns in its header but meta.xml "
                f"describes {described}"
            )
        return count

    def read_columns(
        self,
        spec: FileSpec,
        terms: dict[str, str],
        *,
        stats: ReadStats | None = None,
        on_bytes: Callable[[int], None] | None = None,
        block_size: int = BLOCK_SIZE,
        min_rows: int = MIN_BATCH_ROWS,
    ) -> Iterator[pa.RecordBatch]:
        """Stream record batches of string columns named by the keys of `terms` (name -> URI).

        Every term must be in `spec` (check with `require_terms`). Rows with the wrong number of
        fields are skipped and counted in `stats`; `on_bytes` is called with each chunk's size.
        Parsed blocks are merged into batches of at least `min_rows` rows (but the last).
        """
        stats = stats if stats is not None else ReadStats()
        ncols = self._column_count(spec)
        names = [f"c{i}" for i in range(ncols)]
        sources = [f"c{spec.columns[uri]}" for uri in terms.values()]
        include = list(dict.fromkeys(sources))
        read_options = pacsv.ReadOptions(
            column_names=names,
            skip_rows=spec.header_lines,
            block_size=block_size,
            encoding=spec.encoding,
        )
        parse_options = pacsv.ParseOptions(
            delimiter=spec.delimiter,
            quote_char=spec.quote or False,
            double_quote=bool(spec.quote),
            escape_char=False,
            newlines_in_values=False,
            invalid_row_handler=stats._bad_row,
        )
        convert_options = pacsv.ConvertOptions(
            include_columns=include,
            column_types={column: pa.string() for column in include},
            strings_can_be_null=False,
            quoted_strings_can_be_null=False,
            null_values=[],
        )
        source = _Prefetcher(self.open_raw(spec), block_size, on_bytes)

        def parse() -> Iterator[pa.RecordBatch]:
            reader = pacsv.open_csv(source, read_options, parse_options, convert_options)
            for batch in _regroup(reader, min_rows):
                yield pa.RecordBatch.from_arrays(
                    [batch.column(column) for column in sources], names=list(terms)
                )

        # pyarrow's streaming reader parses in the thread that asks for a batch: a thread of its
        # own overlaps parsing with the caller's work on the previous batch.
        batches = _Background(parse(), depth=2)
        try:
            for batch in batches:
                stats.rows += batch.num_rows
                yield batch
        except _DAMAGED as err:
            raise GeolocError(
                f"{self.path}: {spec.location} is damaged inside the zip ({err}); download it again"
            ) from None
        except (pa.ArrowInvalid, UnicodeDecodeError) as err:
            raise GeolocError(f"{self.path}: cannot parse {spec.location}: {err}") from None
        finally:
            source.close()  # first: it ends a parse waiting for data
            batches.close()


def _regroup(batches: Iterator[pa.RecordBatch], min_rows: int) -> Iterator[pa.RecordBatch]:
    """Merge consecutive small batches into batches of at least `min_rows` rows."""
    pending: list[pa.RecordBatch] = []
    count = 0
    for batch in batches:
        pending.append(batch)
        count += batch.num_rows
        if count >= min_rows:
            yield pa.Table.from_batches(pending).combine_chunks().to_batches()[0]
            pending, count = [], 0
    if count:
        yield pa.Table.from_batches(pending).combine_chunks().to_batches()[0]


def require_terms(archive: Archive, spec: FileSpec, terms: dict[str, str]) -> None:
    """Fail with the list of every required term the file lacks (by short name and URI)."""
    missing = [f"{name} ({uri})" for name, uri in terms.items() if not spec.has(uri)]
    if missing:
        raise GeolocError(
            f"{archive.path}: {spec.location} lacks required terms: "
            + ", ".join(missing)
            + " (meta.xml has no <field> with these term URIs)"
        )


class _Background:
    """Iterates `items` in a background thread, at most `depth` items ahead of the consumer.

    An exception raised by `items` is raised by `next` in the consumer's thread. `close()` stops
    the thread (once whatever it is blocked on returns) and closes `items`.
    """

    _END = object()

    def __init__(self, items: Iterator, depth: int):
        self._queue: queue.Queue = queue.Queue(maxsize=depth)
        self._stop = threading.Event()
        self._done = False
        self._thread = threading.Thread(target=self._fill, args=(items,), daemon=True)
        self._thread.start()

    def _fill(self, items: Iterator) -> None:
        try:
            for item in items:
                if not self._put(item):
                    return
            self._put(self._END)
        except Exception as err:  # handed to the consumer, which raises it
            self._put(err)
        finally:
            items.close()

    def _put(self, item) -> bool:
        while not self._stop.is_set():
            try:
                self._queue.put(item, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def __iter__(self) -> _Background:
        return self

    def __next__(self):
        while not self._done:
            try:
                item = self._queue.get(timeout=0.1)
            except queue.Empty:
                self._done = self._stop.is_set()
                continue
            if item is self._END:
                self._done = True
            elif isinstance(item, Exception):
                self._done = True
                raise item
            else:
                return item
        raise StopIteration

    def close(self) -> None:
        self._stop.set()
        self._thread.join()


def _chunks(raw, size: int) -> Iterator[bytes]:
    with raw:
        while data := raw.read(size):
            yield data


class _Prefetcher:
    """A read-only file over a zip member, inflated by a background thread.

    ISA-L releases the GIL, so inflating the next chunks overlaps with pyarrow parsing the
    current one; at most a few chunks wait in memory.
    """

    def __init__(self, raw, chunk_size: int, on_bytes: Callable[[int], None] | None):
        self._chunks = _Background(_chunks(raw, chunk_size), depth=3)
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


_MEMBER_METHODS = (zipfile.ZIP_STORED, zipfile.ZIP_DEFLATED)
_LOCAL_HEADER = struct.Struct("<4s22xHH")  # signature ... file name length, extra field length
_INPUT_CHUNK = 1 << 16  # compressed bytes read at a time


class _Member:
    """A stored or deflated zip member's bytes, checked against the CRC-32 and size in the directory.

    Inflating dominates reading an archive; ISA-L's inflate is 2-3x faster than zlib's (and also
    releases the GIL, so it overlaps with parsing). `read(size)` returns at most `size` bytes, and
    fewer at will; b"" only at the end, once the checks have passed. Owns its file handle, so a
    background thread can read it while the zip is used elsewhere.
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

    def readline(self) -> bytes:
        line = b""
        while b"\n" not in line:
            chunk = self.read(1 << 16)
            if not chunk:
                break
            line += chunk
        end = line.find(b"\n") + 1 or len(line)
        self._line = line[end:]
        return line[:end]

    def close(self) -> None:
        self._file.close()

    def __enter__(self) -> _Member:
        return self

    def __exit__(self, *exc) -> None:
        self.close()
