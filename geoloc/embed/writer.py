"""Writing embedding files so that no interruption loses work or leaves a broken file.

An HDF5 file killed in the middle of a write can be left unreadable, so work in progress is an
append-only log of small HDF5 *part* files in a work folder (one per batch and rank, written
under a temporary name and renamed into place when closed): every state on disk is a set of
complete parts. A rerun reads the log to skip finished ids; `merge` resolves it (an id embedded
once wins over its failures; the latest failure wins over earlier ones) and writes the final file
through `atomic_path`, so the output exists complete or not at all. The work folder is keyed by a
fingerprint of what makes the embeddings (backbone, weights, image size, precision): changing any
of them starts a new log, never a mix.
"""

from __future__ import annotations

import hashlib
import json
import os
import time
from dataclasses import dataclass
from pathlib import Path

import h5py
import numpy as np

from geoloc.io import atomic_path

FINGERPRINT_KEYS = ("backbone", "weights_id", "image_size", "precision")


def fingerprint(attrs: dict) -> str:
    """Short hash of the attributes that change the embeddings."""
    key = json.dumps({k: attrs[k] for k in FINGERPRINT_KEYS}, sort_keys=True)
    return hashlib.sha256(key.encode()).hexdigest()[:12]


def library_versions() -> dict[str, str]:
    """Versions written into each file's attributes, for provenance."""
    from importlib.metadata import PackageNotFoundError, version

    out = {}
    for dist in ("geoloc", "torch", "timm", "open_clip_torch", "pillow", "h5py", "numpy"):
        try:
            out[f"version_{dist}"] = version(dist)
        except PackageNotFoundError:
            out[f"version_{dist}"] = "absent"
    return out


@dataclass
class Records:
    """Embedded ids with their (float16) vectors, and failed ids with reasons, in log order."""

    gbif_id: np.ndarray
    embedding: np.ndarray
    failed_id: np.ndarray
    failed_reason: np.ndarray

    @classmethod
    def empty(cls, dim: int) -> Records:
        return cls(
            np.empty(0, np.int64), np.empty((0, dim), np.float16),
            np.empty(0, np.int64), np.empty(0, dtype=object),
        )  # fmt: skip

    @classmethod
    def concat(cls, parts: list[Records], dim: int) -> Records:
        if not parts:
            return cls.empty(dim)
        return cls(
            np.concatenate([p.gbif_id for p in parts]),
            np.concatenate([p.embedding for p in parts]),
            np.concatenate([p.failed_id for p in parts]),
            np.concatenate([p.failed_reason for p in parts]),
        )

    def resolved(self) -> Records:
        """One row per id: the first embedding of an id; else its latest failure."""
        ids, first = np.unique(self.gbif_id, return_index=True)
        embedded = Records(ids, self.embedding[first], self.failed_id, self.failed_reason)
        # latest failure per id: unique over the reversed log keeps the last occurrence
        rev_ids = self.failed_id[::-1]
        fids, last = np.unique(rev_ids, return_index=True)
        reasons = self.failed_reason[::-1][last]
        keep = ~np.isin(fids, ids)
        embedded.failed_id, embedded.failed_reason = fids[keep], reasons[keep]
        return embedded


class PartLog:
    """The crash-safe append log of one output's work in progress (one folder, many ranks)."""

    def __init__(self, folder: str | Path, rank: int = 0):
        self.folder = Path(folder)
        self.rank = rank

    def append(self, gbif_id, embedding: np.ndarray, failed_id, failed_reason: list[str]) -> Path:
        """Write one batch as a complete part file; it appears under its final name only whole."""
        self.folder.mkdir(parents=True, exist_ok=True)
        name = f"part-{time.time_ns():020d}-r{self.rank:04d}.h5"
        final, tmp = self.folder / name, self.folder / f".{name}.tmp"
        with h5py.File(tmp, "w") as h5:
            h5["gbif_id"] = np.asarray(gbif_id, np.int64)
            h5["embedding"] = np.asarray(embedding, np.float16)
            h5["failed_id"] = np.asarray(failed_id, np.int64)
            h5.create_dataset("failed_reason", data=list(failed_reason), dtype=h5py.string_dtype())
        os.replace(tmp, final)  # no fsync needed: a killed process loses no page-cache data
        return final

    def parts(self) -> list[Path]:
        """Complete parts in the order they were written (names start with a timestamp)."""
        return sorted(self.folder.glob("part-*.h5")) if self.folder.is_dir() else []

    def read(self, dim: int) -> Records:
        """All complete parts; one damaged by a power cut is dropped, so its ids are redone."""
        parts = []
        for path in self.parts():
            try:
                with h5py.File(path, "r") as h5:
                    parts.append(
                        Records(
                            h5["gbif_id"][:],
                            h5["embedding"][:],
                            h5["failed_id"][:],
                            h5["failed_reason"].asstr()[:].astype(object),
                        )
                    )
            except (OSError, KeyError):
                path.unlink(missing_ok=True)
        return Records.concat(parts, dim)


def read_records(path: str | Path, attrs: dict) -> Records | None:
    """The records of an existing final file if `attrs` made it (same fingerprint), else None."""
    path = Path(path)
    if not path.is_file():
        return None
    try:
        with h5py.File(path, "r") as h5:
            if h5.attrs.get("fingerprint") != fingerprint(attrs):
                return None
            failed = h5.get("failed")
            return Records(
                h5["gbif_id"][:], h5["embedding"][:].astype(np.float16),
                failed["gbif_id"][:] if failed else np.empty(0, np.int64),
                failed["reason"].asstr()[:].astype(object) if failed else np.empty(0, object),
            )  # fmt: skip
    except (OSError, KeyError):
        return None  # unreadable or foreign: rebuilt from scratch


def _dataset(h5: h5py.File, name: str, data: np.ndarray, chunk_rows: int = 4096, **kw) -> None:
    """A chunked, resizable (appendable) dataset."""
    rows = max(1, min(len(data), chunk_rows))
    h5.create_dataset(
        name, data=data, chunks=(rows, *data.shape[1:]), maxshape=(None, *data.shape[1:]), **kw
    )


def write_embedding_file(
    path: str | Path,
    *,
    gbif_id: np.ndarray,
    embedding: np.ndarray,
    lat: np.ndarray,
    lon: np.ndarray,
    species_key: np.ndarray,
    failed_id: np.ndarray,
    failed_reason: np.ndarray,
    attrs: dict,
    text: dict | None = None,
) -> None:
    """Write the final file atomically (schema: docs/data-contracts.md); `text` holds the /text
    arrays."""
    with atomic_path(path) as tmp, h5py.File(tmp, "w") as h5:
        _dataset(h5, "gbif_id", np.asarray(gbif_id, np.int64))
        _dataset(h5, "embedding", np.asarray(embedding, np.float16))
        _dataset(h5, "lat", np.asarray(lat, np.float64))
        _dataset(h5, "lon", np.asarray(lon, np.float64))
        _dataset(h5, "species_key", np.asarray(species_key, np.int64))
        _dataset(h5, "failed/gbif_id", np.asarray(failed_id, np.int64))
        _dataset(
            h5, "failed/reason", np.asarray(failed_reason, dtype=object),
            dtype=h5py.string_dtype(),
        )  # fmt: skip
        if text is not None:
            h5["text/species_key"] = np.asarray(text["species_key"], np.int64)
            h5.create_dataset("text/species", data=list(text["species"]), dtype=h5py.string_dtype())
            h5["text/embedding"] = np.asarray(text["embedding"], np.float16)
        for key, value in {**attrs, **library_versions()}.items():
            h5.attrs[key] = value
        h5.attrs["fingerprint"] = fingerprint(attrs)
