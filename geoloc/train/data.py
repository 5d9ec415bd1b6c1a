"""Batches for training and validation, streamed from rows whose features may not fit in RAM.

A *source* is anything with `lat`, `lon`, `species_key` (every row, in host RAM: 24 bytes a
row), `dim`, `len()` and `read(start, stop)` -> features of rows start..stop-1:
`geoloc.embed.store.EmbeddingRows` (HDF5 files, read from disk) or `ArrayRows` (arrays in
memory). Features are only ever read one chunk of `train.chunk_rows` rows at a time.

Shuffling is two-level (block shuffle): an epoch visits the chunks in a seeded random order,
`train.buffer_chunks` at a time, and permutes the rows of those chunks within that buffer. Rows
of different buffers never share a batch (except across a buffer boundary), so a batch mixes
`buffer_chunks` random chunks of the file rather than the whole file. When every chunk fits in
one buffer this is a full shuffle of the rows (the chunk order does not matter then and is not
drawn). The permutations come from the trainer's generator in the main thread, so the batches are
the same for a seed whatever the timing of the background thread that reads them.
"""

from __future__ import annotations

import hashlib
import queue
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np
import torch

from geoloc.errors import GeolocError

PREFETCH = 4  # batches read ahead of the step loop


class ArrayRows:
    """In-memory arrays as a source (`train_location_encoder`, the DISDAT benchmark)."""

    def __init__(self, lat, lon, features, species_key=None):
        self.lat = np.asarray(lat, dtype=np.float64)
        self.lon = np.asarray(lon, dtype=np.float64)
        self.features = np.asarray(features, dtype=np.float32)
        if self.features.ndim != 2 or len(self.features) != len(self.lat):
            raise GeolocError(
                f"features must be (N, D) with N = {len(self.lat)} locations; "
                f"got {self.features.shape}"
            )
        # without species keys every observation is its own species (nothing is masked)
        self.species_key = (
            np.arange(len(self.lat), dtype=np.int64)
            if species_key is None
            else np.asarray(species_key, dtype=np.int64)
        )
        self.dim, self.dtype = self.features.shape[1], self.features.dtype

    def __len__(self) -> int:
        return len(self.lat)

    def read(self, start: int, stop: int) -> np.ndarray:
        return self.features[start:stop]


def locations_only(source) -> ArrayRows:
    """The rows of `source` without their features (none are read): for objectives that learn
    from locations and species alone."""
    empty = np.zeros((len(source), 0), np.float32)
    return ArrayRows(source.lat, source.lon, empty, source.species_key)


def scan(source, chunk_rows: int) -> str:
    """One pass over the features, a chunk at a time: their SHA-256 (part of what identifies a
    run's checkpoint), or a user error at the first row that is not finite."""
    digest = hashlib.sha256()
    for start in range(0, len(source), chunk_rows):
        block = np.ascontiguousarray(source.read(start, min(start + chunk_rows, len(source))))
        finite = np.isfinite(block).all(axis=1)
        if not finite.all():
            row = start + int(np.argmin(finite))
            raise GeolocError(f"features contain NaN or infinite values (row {row})")
        digest.update(block.tobytes())
    return digest.hexdigest()


def read_rows(source, rows: np.ndarray, chunk_rows: int, out=None, at=None) -> np.ndarray:
    """Features of the sorted `rows`, reading only the chunks that hold them, one at a time.
    Row rows[i] goes to out[at[i]] (default: a new array, in the order of `rows`)."""
    if out is None:
        out = np.empty((len(rows), source.dim), source.dtype)
    at = np.arange(len(rows)) if at is None else at
    chunk_ids, starts = np.unique(rows // chunk_rows, return_index=True)
    bounds = np.append(starts, len(rows))
    for chunk, lo, hi in zip(chunk_ids, bounds[:-1], bounds[1:], strict=True):
        first = int(chunk) * chunk_rows
        block = source.read(first, min(first + chunk_rows, len(source)))
        out[at[lo:hi]] = block[rows[lo:hi] - first]
    return out


def shuffled_buffers(
    rows: np.ndarray, chunk_rows: int, buffer_chunks: int, generator: torch.Generator
) -> list[np.ndarray]:
    """One pass over the sorted `rows` as block-shuffled buffers (see the module docstring):
    each the rows of up to `buffer_chunks` chunks, in the order the pass visits them."""
    chunk_ids, starts = np.unique(rows // chunk_rows, return_index=True)
    bounds = np.append(starts, len(rows))
    if len(chunk_ids) <= buffer_chunks:
        groups = [np.arange(len(chunk_ids))]
    else:
        order = _randperm(len(chunk_ids), generator)
        groups = [order[i : i + buffer_chunks] for i in range(0, len(order), buffer_chunks)]
    buffers = []
    for group in groups:
        members = np.concatenate([rows[bounds[c] : bounds[c + 1]] for c in np.sort(group)])
        buffers.append(members[_randperm(len(members), generator)])
    return buffers


def _randperm(n: int, generator: torch.Generator) -> np.ndarray:
    return torch.randperm(n, generator=generator, device=generator.device).cpu().numpy()


@dataclass
class Batch:
    """One step's rows on the training device (`group`: their target groups, when streamed)."""

    lat: torch.Tensor
    lon: torch.Tensor
    species: torch.Tensor
    feat: torch.Tensor
    group: torch.Tensor | None = None

    def __len__(self) -> int:
        return len(self.lat)


@dataclass(frozen=True)
class _Segment:
    """Consecutive positions first.. of a pass: their rows and features."""

    first: int
    rows: np.ndarray
    feat: np.ndarray

    @property
    def end(self) -> int:
        return self.first + len(self.rows)

    def overlaps(self, start: int, stop: int) -> bool:
        return self.first < stop and self.end > start

    def window(self, start: int, stop: int) -> tuple[np.ndarray, np.ndarray]:
        """Views of the rows and features of positions start..stop-1 held here."""
        cut = slice(max(start - self.first, 0), stop - self.first)
        return self.rows[cut], self.feat[cut]

    def tail(self, start: int) -> _Segment:
        """The positions from `start` on, copied so that the rest can be freed."""
        if start <= self.first:
            return self
        cut = start - self.first
        return _Segment(start, self.rows[cut:].copy(), self.feat[cut:].copy())


class BatchStream:
    """The batches of one pass: position spans into the pass's row order (the buffers one after
    the other). A background thread assembles them `PREFETCH` batches ahead, and a second one
    reads the next buffer while the current one is served (double buffering), so host memory
    holds two buffers, the unread end of the previous one (under one batch), one chunk being
    read and the prefetched batches; `peak_rows` records the most feature rows held at once.
    `group` (N,), when given, adds each row's target group to its batch."""

    def __init__(
        self, source, buffers: list[np.ndarray], spans, chunk_rows: int, device, group=None
    ):
        self.source, self.buffers, self.spans = source, buffers, list(spans)
        self.chunk_rows, self.device, self.group = chunk_rows, device, group
        self.peak_rows = 0

    def __iter__(self) -> Iterator[Batch]:
        for host in _prefetched(self._host_batches(), PREFETCH):
            yield Batch(*(t.to(self.device, non_blocking=True) for t in host))

    def _host_batches(self) -> Iterator[tuple[torch.Tensor, ...]]:
        """(lat, lon, species, features) of each span, as CPU tensors (pinned for CUDA)."""
        with ThreadPoolExecutor(max_workers=1, thread_name_prefix="geoloc-read") as reader:
            buffers = iter(self.buffers)

            def read_next():
                buffer = next(buffers, None)
                return None if buffer is None else (buffer, reader.submit(self._read, buffer))

            upcoming, held, end = read_next(), [], 0
            for start, stop in self.spans:
                while stop > end:  # the span reaches into the next buffer
                    held = [seg.tail(start) for seg in held if seg.end > start]
                    buffer, reading = upcoming
                    upcoming = read_next()  # read the one after while this one is served
                    held.append(_Segment(end, buffer, reading.result()))
                    end += len(buffer)
                    in_flight = len(upcoming[0]) if upcoming else 0
                    held_rows = sum(len(seg.rows) for seg in held)
                    self.peak_rows = max(self.peak_rows, held_rows + in_flight + self.chunk_rows)
                windows = [seg.window(start, stop) for seg in held if seg.overlaps(start, stop)]
                rows = np.concatenate([rows for rows, _ in windows])
                feat = np.concatenate([feat for _, feat in windows])  # a copy: `held` stays
                yield self._tensors(rows, feat)

    def _read(self, buffer: np.ndarray) -> np.ndarray:
        """The buffer's features in pass order, read chunk by chunk in file order."""
        by_row = np.argsort(buffer)
        out = np.empty((len(buffer), self.source.dim), self.source.dtype)
        return read_rows(self.source, buffer[by_row], self.chunk_rows, out=out, at=by_row)

    def _tensors(self, rows: np.ndarray, feat: np.ndarray) -> tuple[torch.Tensor, ...]:
        source = self.source
        host = (
            torch.from_numpy(source.lat[rows].astype(np.float32)),
            torch.from_numpy(source.lon[rows].astype(np.float32)),
            torch.from_numpy(source.species_key[rows]),
            torch.from_numpy(feat.astype(np.float32, copy=False)),
        )
        if self.group is not None:
            host = (*host, torch.from_numpy(self.group[rows]))
        if self.device.type == "cuda":
            host = tuple(t.pin_memory() for t in host)
        return host


class _Failure:
    def __init__(self, error: BaseException):
        self.error = error


_DONE = object()


def _prefetched(items: Iterator, depth: int) -> Iterator:
    """Iterate `items` in a background thread, up to `depth` ahead; its errors surface here, and
    leaving the loop early stops the thread."""
    ready: queue.Queue = queue.Queue(maxsize=depth)
    stop = threading.Event()

    def put(item) -> bool:
        while not stop.is_set():
            try:
                ready.put(item, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def work() -> None:
        try:
            for item in items:
                if not put(item):
                    return
        except BaseException as err:  # handed to the consumer, which re-raises it
            put(_Failure(err))
            return
        finally:
            items.close()  # a generator left early releases what it holds (its reader) here
        put(_DONE)

    thread = threading.Thread(target=work, name="geoloc-batches", daemon=True)
    thread.start()
    try:
        while (item := ready.get()) is not _DONE:
            if isinstance(item, _Failure):
                raise item.error
            yield item
    finally:
        stop.set()
        thread.join()
