"""Streaming reader for GBIF Darwin Core Archives (DwC-A zips).

The archive is never extracted: each data file is streamed out of the zip and parsed in blocks by
pyarrow's CSV reader, keeping only the columns asked for, so memory stays bounded whatever the
archive's size. `meta.xml`, not the header row, says which column holds which term, so columns are
requested by term URI. Anything wrong with the archive itself raises one GeolocError.
"""

from __future__ import annotations

import codecs
import queue
import threading
import xml.etree.ElementTree as ET
import zipfile
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

import pyarrow as pa
import pyarrow.csv as pacsv

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
        """The member's decompressed byte stream, read straight out of the zip."""
        try:
            return self._zip.open(spec.location)
        except (zipfile.BadZipFile, NotImplementedError, RuntimeError) as err:
            raise GeolocError(f"{self.path}: cannot open {spec.location}: {err}") from None

    def _column_count(self, spec: FileSpec) -> int:
        described = max(spec.columns.values(), default=-1) + 1
        if spec.header_lines == 0:
            return described
        with self.open_raw(spec) as raw:
            try:
                header = raw.readline().decode(spec.encoding, errors="replace").rstrip("\r\n")
            except (zipfile.BadZipFile, zlib.error, EOFError) as err:
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
        try:
            reader = pacsv.open_csv(source, read_options, parse_options, convert_options)
            for batch in _regroup(reader, min_rows):
                stats.rows += batch.num_rows
                yield pa.RecordBatch.from_arrays(
                    [batch.column(column) for column in sources], names=list(terms)
                )
        except (zipfile.BadZipFile, zlib.error, EOFError) as err:
            raise GeolocError(
                f"{self.path}: {spec.location} is damaged inside the zip ({err}); download it again"
            ) from None
        except (pa.ArrowInvalid, UnicodeDecodeError) as err:
            raise GeolocError(f"{self.path}: cannot parse {spec.location}: {err}") from None
        finally:
            source.close()


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


class _Prefetcher:
    """A read-only file over a zip member, inflated by a background thread.

    zlib releases the GIL, so inflating the next chunks overlaps with pyarrow parsing the
    current one; the bounded queue keeps at most `depth` chunks in memory.
    """

    def __init__(self, raw, chunk_size: int, on_bytes: Callable[[int], None] | None, depth=3):
        self._queue: queue.Queue = queue.Queue(maxsize=depth)
        self._stop = threading.Event()
        self._pending = b""
        self._eof = False
        self._on_bytes = on_bytes
        self.closed = False
        self._thread = threading.Thread(target=self._fill, args=(raw, chunk_size), daemon=True)
        self._thread.start()

    def _fill(self, raw, chunk_size: int) -> None:
        try:
            while not self._stop.is_set():
                data = raw.read(chunk_size)
                self._put(data)
                if not data:
                    return
        except Exception as err:  # handed to the reading thread, which raises it
            self._put(err)
        finally:
            raw.close()

    def _put(self, item) -> None:
        while not self._stop.is_set():
            try:
                self._queue.put(item, timeout=0.1)
                return
            except queue.Full:
                continue

    def read(self, size: int = -1) -> bytes:
        while not self._pending and not self._eof:
            try:
                item = self._queue.get(timeout=0.1)
            except queue.Empty:
                self._eof = self._stop.is_set()  # closed early: end pyarrow's pending reads
                continue
            if isinstance(item, Exception):
                raise item
            self._pending = item
            self._eof = not item
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
        self._stop.set()
        self._thread.join()
