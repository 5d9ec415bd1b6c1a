"""Streaming reader for GBIF Darwin Core Archives (DwC-A zips).

The archive is never extracted: each data file is streamed out of the zip
(`geoloc.gbif.zipstream`) and parsed in blocks by pyarrow's CSV reader, keeping only the columns
asked for, so memory stays bounded whatever the archive's size. `meta.xml`
(`geoloc.gbif.descriptor`), not the header row, says which column holds which term, so columns
are requested by term URI. Anything wrong with the archive itself raises one GeolocError.
"""

from __future__ import annotations

import codecs
import threading
import time
import traceback
import weakref
import zipfile
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pyarrow as pa
import pyarrow.csv as pacsv

from geoloc.errors import GeolocError
from geoloc.gbif.descriptor import FileSpec, is_unsafe_member, parse_descriptor
from geoloc.gbif.readahead import ReadAhead
from geoloc.gbif.zipstream import DAMAGED, Prefetcher, open_member

BLOCK_SIZE = 1 << 20  # bytes of text parsed per block: small blocks parse in cache
MIN_BATCH_ROWS = 16384  # rows per batch handed on: amortises per-batch work downstream
MAX_LINE_BYTES = BLOCK_SIZE  # a header line longer than this is not a header
RELEASE_WAIT_S = 10.0  # at most this long for pyarrow's read-ahead to end after an error


@dataclass
class ReadStats:
    """What a streaming read saw: data rows, rows with the wrong number of fields, values that
    were not UTF-8."""

    rows: int = 0
    malformed: int = 0
    malformed_examples: list[str] = field(default_factory=list)
    invalid_text: int = 0  # values that were not valid UTF-8 (read with replacement characters)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def count_invalid_text(self) -> None:
        with self._lock:
            self.invalid_text += 1

    def _bad_row(self, row) -> str:
        with self._lock:
            self.malformed += 1
            if len(self.malformed_examples) < 3:
                self.malformed_examples.append(
                    f"{row.actual_columns} fields instead of {row.expected_columns}"
                    + (f" (line {row.number})" if row.number and row.number > 0 else "")
                )
        return "skip"


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
            self.core, self.extensions = parse_descriptor(self._meta_xml(), self._names, self.path)
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
        bad = [info.filename for info in self._zip.infolist() if is_unsafe_member(info.filename)]
        if bad:
            raise GeolocError(
                f"{self.path}: refusing an archive with unsafe member paths (absolute or '..'): "
                + ", ".join(repr(name) for name in bad[:5])
            )
        self._names = set(self._zip.namelist())

    def _meta_xml(self) -> bytes:
        if "meta.xml" not in self._names:
            raise GeolocError(
                f"{self.path}: no meta.xml descriptor; not a Darwin Core Archive "
                "(download the 'Darwin Core Archive' format from GBIF)"
            )
        try:
            return self._zip.read("meta.xml")
        except (zipfile.BadZipFile, zlib.error, EOFError, RuntimeError, NotImplementedError) as err:
            raise GeolocError(f"{self.path}: cannot read meta.xml: {err}") from None

    def extension(self, row_type: str) -> FileSpec | None:
        return self.extensions.get(row_type)

    def member_size(self, spec: FileSpec) -> int:
        """Uncompressed size in bytes (from the zip directory; for progress and planning)."""
        return self._zip.getinfo(spec.location).file_size

    def open_raw(self, spec: FileSpec):
        """The member's decompressed byte stream, read straight out of the zip."""
        info = self._zip.getinfo(spec.location)
        try:
            return open_member(self._zip, self.path, info)
        except (zipfile.BadZipFile, NotImplementedError, RuntimeError, OSError) as err:
            raise GeolocError(f"{self.path}: cannot open {spec.location}: {err}") from None

    def _column_count(self, spec: FileSpec) -> int:
        described = max(spec.columns.values(), default=-1) + 1
        if spec.header_lines == 0:
            return described
        with self.open_raw(spec) as raw:
            try:
                line = raw.readline(MAX_LINE_BYTES)
            except DAMAGED as err:
                raise GeolocError(f"{self.path}: {spec.location} is damaged: {err}") from None
        if len(line) >= MAX_LINE_BYTES and not line.endswith(b"\n"):
            raise GeolocError(
                f"{self.path}: the header line of {spec.location} is over {MAX_LINE_BYTES} bytes "
                "(no line break): not a delimited text file"
            )
        header = line.decode(spec.encoding, errors="replace").rstrip("\r\n")
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
        fields are skipped and counted in `stats`, and so are values that are not valid UTF-8
        (read with replacement characters); `on_bytes` is called with each chunk's size. A line
        longer than `block_size` (no line break: not a text file) is an error. Parsed blocks are
        merged into batches of at least `min_rows` rows (but the last).
        """
        stats = stats if stats is not None else ReadStats()
        ncols = self._column_count(spec)
        sources = [f"c{spec.columns[uri]}" for uri in terms.values()]
        options = _csv_options(spec, ncols, sources, block_size, stats)
        source = Prefetcher(self.open_raw(spec), block_size, on_bytes)
        lent: list[weakref.ref] = []
        overlong: list[int] = []  # where the stream was cut: a line over block_size

        def parse() -> Iterator[pa.RecordBatch]:
            reader = _open_csv(_Lent(source, block_size, overlong), options, lent)
            try:
                for batch in _regroup(reader, min_rows):
                    columns = _strings(batch, sources, stats)
                    yield pa.RecordBatch.from_arrays(
                        [columns[column] for column in sources], names=list(terms)
                    )
            finally:
                reader.close()
                del reader

        # pyarrow's streaming reader parses in the thread that asks for a batch: a thread of its
        # own overlaps parsing with the caller's work on the previous batch.
        batches = ReadAhead(parse(), depth=2)
        try:
            for batch in batches:
                stats.rows += batch.num_rows
                yield batch
            if overlong:
                raise GeolocError(
                    f"{self.path}: {spec.location} has a line of over {block_size} bytes (no line "
                    f"break) at byte {overlong[0]}: not a delimited text file, or damaged"
                )
        except DAMAGED as err:
            traceback.clear_frames(err.__traceback__)  # see _await_release
            raise GeolocError(
                f"{self.path}: {spec.location} is damaged inside the zip ({err}); download it again"
            ) from None
        except (pa.ArrowInvalid, UnicodeDecodeError) as err:
            traceback.clear_frames(err.__traceback__)
            raise GeolocError(f"{self.path}: cannot parse {spec.location}: {err}") from None
        finally:
            source.close()  # first: it ends a parse waiting for data
            batches.close()
            _await_release(lent)


class _Lent:
    """The byte stream as pyarrow gets it, cut (a clean end) where a line grows past `max_line`:
    pyarrow would fail on it with an error that names no place. Only pyarrow holds this object,
    so its release shows when pyarrow's read-ahead thread is done with it."""

    def __init__(self, source: Prefetcher, max_line: int, overlong: list[int]):
        self._source = source
        self._max_line = max_line
        self._overlong = overlong
        self._offset = 0
        self._line = 0  # bytes since the last line break

    def read(self, size: int = -1) -> bytes:
        if self._overlong:
            return b""
        data = self._source.read(size)
        end = data.rfind(b"\n")
        self._line = self._line + len(data) if end < 0 else len(data) - end - 1
        self._offset += len(data)
        if self._line > self._max_line:
            self._overlong.append(self._offset - self._line)
            return b""
        return data

    def readable(self) -> bool:
        return True

    @property
    def closed(self) -> bool:
        return self._source.closed

    def close(self) -> None:
        self._source.close()


def _open_csv(stream: _Lent, options, lent: list[weakref.ref]) -> pacsv.CSVStreamingReader:
    """pyarrow's streaming reader over `stream`; `lent` gets a weak reference to it."""
    lent.append(weakref.ref(stream))
    try:
        return pacsv.open_csv(stream, *options)
    finally:
        del stream  # the traceback of a failed open must not keep it alive


def _await_release(lent: list[weakref.ref], limit_s: float = RELEASE_WAIT_S) -> None:
    """Wait until pyarrow has let go of the stream. Its read-ahead thread calls into Python and
    may still be reading after an error: were the interpreter to exit meanwhile, the process
    would abort (`Fatal Python error: PyGILState_Release`) instead of printing the error."""
    end = time.monotonic() + limit_s
    while any(ref() is not None for ref in lent) and time.monotonic() < end:
        time.sleep(0.002)


def _strings(batch: pa.RecordBatch, sources: list[str], stats: ReadStats) -> dict[str, pa.Array]:
    """The `sources` columns (read as bytes) as strings: a value that is not UTF-8 gets
    replacement characters and is counted, rather than failing the whole archive."""
    columns = {}
    for column in dict.fromkeys(sources):
        values = batch.column(column)
        try:
            columns[column] = values.cast(pa.string())
        except pa.ArrowInvalid:
            columns[column] = pa.array(
                [_decode(value, stats) for value in values.to_pylist()], pa.string()
            )
    return columns


def _decode(value: bytes, stats: ReadStats) -> str:
    try:
        return value.decode()
    except UnicodeDecodeError:
        stats.count_invalid_text()
        return value.decode(errors="replace")


def _csv_options(spec: FileSpec, ncols: int, sources: list[str], block_size: int, stats):
    """pyarrow's read, parse and convert options for `spec`: every value a plain string (no
    quoting unless meta.xml says so, no null markers), only the `sources` columns kept."""
    include = list(dict.fromkeys(sources))
    utf8 = codecs.lookup(spec.encoding).name == "utf-8"  # else pyarrow transcodes it to UTF-8
    read_options = pacsv.ReadOptions(
        column_names=[f"c{i}" for i in range(ncols)],
        skip_rows=spec.header_lines,
        block_size=block_size,
        encoding="utf8" if utf8 else spec.encoding,
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
        column_types={column: pa.binary() if utf8 else pa.string() for column in include},
        strings_can_be_null=False,
        quoted_strings_can_be_null=False,
        null_values=[],
    )
    return read_options, parse_options, convert_options


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
