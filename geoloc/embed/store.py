"""Reading the HDF5 embedding store (`data/embeddings/<ds>.h5`; the schema is in
docs/data-contracts.md).

Every consumer reads through this module, so the on-disk layout is known in one place:
`read_embeddings` / `pool_embeddings` load a table into memory (identification,
re-identification, clustering); `EmbeddingRows` keeps the embeddings on disk and reads them by
row range (training, whose downloads may not fit in RAM). The writer that appends,
resumes and merges lives beside it in geoloc/embed/.
"""

from __future__ import annotations

import contextlib
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


_REQUIRED = ("gbif_id", "embedding", "lat", "lon", "species_key")


@contextlib.contextmanager
def _open_store(path: Path):
    """An embedding file opened for reading; a missing or foreign file is a user error."""
    import h5py

    if not path.is_file():
        raise GeolocError(f"embedding file not found: {path} (run the embed stage first)")
    try:
        h5 = h5py.File(path, "r")
    except OSError as err:
        raise GeolocError(f"{path}: cannot be read as HDF5 ({err})") from None
    with h5:
        missing = [k for k in _REQUIRED if k not in h5]
        if missing:
            raise GeolocError(f"{path}: not a geoloc embedding file (missing {', '.join(missing)})")
        yield h5


def read_embeddings(path: str | Path, dtype=np.float32) -> EmbeddingTable:
    """Load an embedding file; a missing or foreign file is a user error, not a traceback.
    `dtype=None` keeps the image embeddings as stored (float16: half the memory of float32)."""
    path = Path(path)
    try:
        with _open_store(path) as h5:
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
                attrs=_attrs(h5),
                text=text,
            )
    except OSError as err:
        raise GeolocError(f"{path}: cannot be read as HDF5 ({err})") from None


_SAME_MODEL = ("backbone", "weights_id", "image_size", "dim")  # attrs pooled files must share


def _check_same_model(paths, attrs: list[dict]) -> None:
    """Files can be pooled only when one image model wrote them: their vectors share a space."""
    model = {key: attrs[0].get(key) for key in _SAME_MODEL}
    for path, other_attrs in zip(paths, attrs, strict=True):
        other = {key: other_attrs.get(key) for key in _SAME_MODEL}
        if other != model:
            raise GeolocError(
                f"{path} was embedded with {other}, {paths[0]} with {model}: re-embed them "
                "with one backbone before training on both"
            )


def pool_embeddings(paths) -> EmbeddingTable:
    """Several datasets' files as one table in memory (see `EmbeddingRows` for a table larger
    than RAM).

    Rows keep their order file by file; only files from the same image model can be pooled,
    since their vectors must live in one space. Species-name embeddings are not carried over.
    """
    tables = [read_embeddings(path) for path in paths]
    if not tables:
        raise GeolocError("no embedding files to pool")
    _check_same_model(paths, [table.attrs for table in tables])
    if len(tables) == 1:
        return tables[0]
    return EmbeddingTable(
        **{
            name: np.concatenate([getattr(t, name) for t in tables])
            for name in ("gbif_id", "embedding", "lat", "lon", "species_key")
        },
        attrs=dict(tables[0].attrs),
    )


class EmbeddingRows:
    """One or several embedding files (pooled, file by file) read as one table whose (N, D)
    embeddings stay on disk: rows are addressed globally and read by range, so a download
    larger than RAM can be trained on. lat, lon and species_key of every row are loaded
    (24 bytes a row). Use as a context manager (it holds the files open)."""

    def __init__(self, paths):
        self.paths = [Path(p) for p in paths]
        if not self.paths:
            raise GeolocError("no embedding files to pool")
        with contextlib.ExitStack() as stack:
            files = [stack.enter_context(_open_store(p)) for p in self.paths]
            _check_same_model(self.paths, [_attrs(h5) for h5 in files])
            self._embeddings = [h5["embedding"] for h5 in files]
            dims = {dataset.shape[1:] for dataset in self._embeddings}
            if len(dims) != 1:
                raise GeolocError(f"{', '.join(map(str, self.paths))}: embeddings of sizes {dims}")
            self.lat = np.concatenate([h5["lat"][:].astype(np.float64) for h5 in files])
            self.lon = np.concatenate([h5["lon"][:].astype(np.float64) for h5 in files])
            self.species_key = np.concatenate(
                [h5["species_key"][:].astype(np.int64) for h5 in files]
            )
            self._files = stack.pop_all()  # they stay open until close()
        self._starts = np.cumsum([0] + [len(e) for e in self._embeddings])
        self.dim, self.dtype = self._embeddings[0].shape[1], self._embeddings[0].dtype

    def __len__(self) -> int:
        return int(self._starts[-1])

    def read(self, start: int, stop: int) -> np.ndarray:
        """Embeddings of global rows start..stop-1, in the files' dtype (float16)."""
        parts = []
        for index, dataset in enumerate(self._embeddings):
            lo, hi = self._starts[index], self._starts[index + 1]
            if start < hi and stop > lo:
                parts.append(dataset[max(start, lo) - lo : min(stop, hi) - lo])
        return parts[0] if len(parts) == 1 else np.concatenate(parts)

    def close(self) -> None:
        self._files.close()

    def __enter__(self) -> EmbeddingRows:
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def _attrs(h5) -> dict:
    return {key: _plain(value) for key, value in h5.attrs.items()}


def _plain(value):
    """HDF5 attributes come back as numpy scalars/bytes; make them JSON-friendly."""
    if isinstance(value, bytes):
        return value.decode()
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    return value
