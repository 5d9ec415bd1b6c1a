"""Reading the HDF5 embedding store (`data/embeddings/<ds>.h5`, schema in DESIGN.md).

Every consumer (training, identification, re-identification, clustering) reads through
`read_embeddings`, so the on-disk layout is known in one place. The writer that appends,
resumes and merges lives beside it in geoloc/embed/.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from geoloc.errors import GeolocError


@dataclass
class TextEmbeddings:
    """Species-name embeddings from the backbone's text tower (`/text` group)."""

    species_key: np.ndarray  # (S,) int64
    species: np.ndarray  # (S,) str
    embedding: np.ndarray  # (S, D) float32, L2-normalised


@dataclass
class EmbeddingTable:
    """One dataset's image embeddings, in memory, as float32 for computation."""

    gbif_id: np.ndarray  # (N,) int64
    embedding: np.ndarray  # (N, D) float32, L2-normalised
    lat: np.ndarray  # (N,) float64, degrees
    lon: np.ndarray  # (N,) float64, degrees
    species_key: np.ndarray  # (N,) int64
    attrs: dict = field(default_factory=dict)
    text: TextEmbeddings | None = None

    def __len__(self) -> int:
        return len(self.gbif_id)

    @property
    def dim(self) -> int:
        return self.embedding.shape[1]


def read_embeddings(path: str | Path, dtype=np.float32) -> EmbeddingTable:
    """Load an embedding file; a missing or foreign file is a user error, not a traceback.
    `dtype=None` keeps the image embeddings as stored (float16: half the memory of float32)."""
    import h5py

    path = Path(path)
    if not path.is_file():
        raise GeolocError(f"embedding file not found: {path} (run the embed stage first)")
    try:
        with h5py.File(path, "r") as h5:
            missing = [
                k for k in ("gbif_id", "embedding", "lat", "lon", "species_key") if k not in h5
            ]
            if missing:
                raise GeolocError(
                    f"{path}: not a geoloc embedding file (missing {', '.join(missing)})"
                )
            text = None
            if "text" in h5:
                text = TextEmbeddings(
                    species_key=h5["text/species_key"][:].astype(np.int64),
                    species=h5["text/species"].asstr()[:].astype(str),
                    embedding=h5["text/embedding"][:].astype(np.float32),
                )
            return EmbeddingTable(
                gbif_id=h5["gbif_id"][:].astype(np.int64),
                embedding=h5["embedding"][:].astype(dtype or h5["embedding"].dtype, copy=False),
                lat=h5["lat"][:].astype(np.float64),
                lon=h5["lon"][:].astype(np.float64),
                species_key=h5["species_key"][:].astype(np.int64),
                attrs={k: _plain(v) for k, v in h5.attrs.items()},
                text=text,
            )
    except OSError as err:
        raise GeolocError(f"{path}: cannot be read as HDF5 ({err})") from None


_SAME_MODEL = ("backbone", "weights_id", "image_size", "dim")  # attrs pooled files must share


def pool_embeddings(paths) -> EmbeddingTable:
    """Several datasets' files as one table (the location encoder learns from all of them).

    Rows keep their order file by file; only files from the same image model can be pooled,
    since their vectors must live in one space. Species-name embeddings are not carried over.
    """
    tables = [read_embeddings(path) for path in paths]
    if not tables:
        raise GeolocError("no embedding files to pool")
    model = {key: tables[0].attrs.get(key) for key in _SAME_MODEL}
    for path, table in zip(paths, tables, strict=True):
        other = {key: table.attrs.get(key) for key in _SAME_MODEL}
        if other != model:
            raise GeolocError(
                f"{path} was embedded with {other}, {paths[0]} with {model}: re-embed them "
                "with one backbone before training on both"
            )
    if len(tables) == 1:
        return tables[0]
    return EmbeddingTable(
        **{
            name: np.concatenate([getattr(t, name) for t in tables])
            for name in ("gbif_id", "embedding", "lat", "lon", "species_key")
        },
        attrs=dict(tables[0].attrs),
    )


def _plain(value):
    """HDF5 attributes come back as numpy scalars/bytes; make them JSON-friendly."""
    if isinstance(value, bytes):
        return value.decode()
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    return value
