import h5py
import numpy as np
import pytest

from geoloc.embed.store import pool_embeddings
from geoloc.errors import GeolocError


def _store(path, n, backbone="efficientnet-lite0", offset=0):
    rng = np.random.default_rng(n + offset)
    with h5py.File(path, "w") as h5:
        h5["gbif_id"] = np.arange(offset, offset + n, dtype=np.int64)
        h5["embedding"] = rng.normal(size=(n, 8)).astype(np.float16)
        h5["lat"] = rng.uniform(43, 50, n)
        h5["lon"] = rng.uniform(-2, 7, n)
        h5["species_key"] = rng.integers(0, 3, n)
        h5.attrs.update({"backbone": backbone, "dim": 8, "image_size": 128})
    return path


def test_pool_keeps_every_row_file_by_file(tmp_path):
    a, b = _store(tmp_path / "a.h5", 5), _store(tmp_path / "b.h5", 7, offset=100)
    pooled = pool_embeddings([a, b])
    assert len(pooled) == 12 and pooled.dim == 8
    assert pooled.gbif_id.tolist() == [*range(5), *range(100, 107)]
    assert pooled.attrs["backbone"] == "efficientnet-lite0"


def test_pool_refuses_files_from_different_models(tmp_path):
    a = _store(tmp_path / "a.h5", 5)
    b = _store(tmp_path / "b.h5", 5, backbone="bioclip-2")
    with pytest.raises(GeolocError, match="one backbone"):
        pool_embeddings([a, b])


def test_pool_of_nothing_is_a_user_error():
    with pytest.raises(GeolocError, match="no embedding files"):
        pool_embeddings([])


def test_embedding_rows_read_pooled_files_by_global_row_range(tmp_path):
    """The training's reader: rows addressed across files, embeddings read only when asked."""
    from geoloc.embed.store import EmbeddingRows

    a, b = _store(tmp_path / "a.h5", 5), _store(tmp_path / "b.h5", 7, offset=100)
    pooled = pool_embeddings([a, b])
    with EmbeddingRows([a, b]) as rows:
        assert len(rows) == 12 and rows.dim == 8 and rows.dtype == np.float16
        np.testing.assert_array_equal(rows.lat, pooled.lat)
        np.testing.assert_array_equal(rows.species_key, pooled.species_key)
        for start, stop in [(0, 12), (3, 9), (5, 7), (0, 2), (11, 12)]:  # within and across
            np.testing.assert_array_equal(rows.read(start, stop), pooled.embedding[start:stop])
    with pytest.raises(GeolocError, match="one backbone"):
        EmbeddingRows([a, _store(tmp_path / "c.h5", 5, backbone="bioclip-2")])
    with pytest.raises(GeolocError, match="not found"):
        EmbeddingRows([a, tmp_path / "missing.h5"])
