"""Streamed batches: block shuffle, the rows and features of each span, bounded memory, errors."""

import threading

import numpy as np
import pytest
import torch

from geoloc.errors import GeolocError
from geoloc.train.data import ArrayRows, BatchStream, read_rows, scan, shuffled_buffers
from tests.train.train_fixtures import CountingRows

CPU = torch.device("cpu")


def _source(n=500, dim=3):
    """Rows whose features name them: feature[i] = (i, i, ...), lat/lon/species derived from i."""
    rows = np.arange(n)
    features = np.repeat(rows[:, None], dim, axis=1).astype(np.float32)
    return ArrayRows(rows % 90, rows % 180 - 90, features, rows * 10)


def _order(buffers):
    return np.concatenate(buffers)


def test_block_shuffle_visits_every_row_once_mixing_only_within_buffers():
    rows = np.flatnonzero(np.arange(500) % 7 != 3)  # a training subset: val rows left out
    generator = torch.Generator().manual_seed(0)
    buffers = shuffled_buffers(rows, chunk_rows=20, buffer_chunks=3, generator=generator)
    order = _order(buffers)
    assert sorted(order) == list(rows) and len(order) == len(rows)
    assert len(buffers) == 9  # 25 chunks of 20 rows, 3 a buffer
    for buffer in buffers:
        assert len(np.unique(buffer // 20)) <= 3
    assert not np.array_equal(order, rows)
    again = shuffled_buffers(rows, 20, 3, torch.Generator().manual_seed(0))
    other = shuffled_buffers(rows, 20, 3, torch.Generator().manual_seed(1))
    assert np.array_equal(_order(again), order) and not np.array_equal(_order(other), order)


def test_one_buffer_is_a_full_shuffle_drawing_only_the_row_permutation():
    """When every chunk fits in one buffer, the pass is rows[randperm(n)]: the order the
    trainer took before streaming, so small data trains exactly as it did."""
    rows = np.arange(0, 300, 2)
    buffers = shuffled_buffers(rows, 64, 16, torch.Generator().manual_seed(5))
    expected = rows[torch.randperm(len(rows), generator=torch.Generator().manual_seed(5)).numpy()]
    assert len(buffers) == 1 and np.array_equal(_order(buffers), expected)


@pytest.mark.parametrize(("batch", "world"), [(7, 1), (5, 2), (50, 1)])
def test_each_span_gets_its_rows_and_their_features(batch, world):
    """Spans cross buffer boundaries (and, at 50 rows, whole buffers) and skip other ranks'."""
    source = _source()
    rows = np.arange(len(source))
    buffers = shuffled_buffers(rows, 16, 2, torch.Generator().manual_seed(0))
    order = _order(buffers)
    steps = len(rows) // (batch * world)
    for rank in range(world):
        spans = [((s * world + rank) * batch, (s * world + rank + 1) * batch) for s in range(steps)]
        batches = list(BatchStream(source, buffers, spans, 16, CPU, group=rows % 3))
        assert len(batches) == steps
        for (start, stop), got in zip(spans, batches, strict=True):
            expected = order[start:stop]
            np.testing.assert_array_equal(got.group.numpy(), expected % 3)
            np.testing.assert_array_equal(got.feat[:, 0].numpy(), expected)
            np.testing.assert_array_equal(got.species.numpy(), expected * 10)
            np.testing.assert_array_equal(got.lat.numpy(), (expected % 90).astype(np.float32))
            assert got.feat.dtype == torch.float32 and got.lat.dtype == torch.float32


def test_stream_reads_a_chunk_at_a_time_and_holds_about_two_buffers():
    """The buffer served and the next one, read meanwhile."""
    source = CountingRows(_source(n=2000))
    rows = np.flatnonzero(np.arange(2000) % 5 != 0)
    chunk, buffer_chunks, batch = 32, 3, 24
    buffers = shuffled_buffers(rows, chunk, buffer_chunks, torch.Generator().manual_seed(0))
    spans = [(s * batch, (s + 1) * batch) for s in range(len(rows) // batch)]
    stream = BatchStream(source, buffers, spans, chunk, CPU)
    batches = list(stream)
    assert sum(len(b) for b in batches) == len(spans) * batch
    assert all(b.group is None for b in batches)  # no groups given: none streamed
    assert source.largest_read <= chunk
    # every chunk holding a training row is read once per pass, nothing else
    assert sorted(start for start, _ in source.reads) == list(range(0, 2000, chunk))
    assert 2 * buffer_chunks * chunk < stream.peak_rows <= (2 * buffer_chunks + 1) * chunk + batch


def test_errors_in_the_reader_surface_and_leaving_early_stops_the_thread():
    class Broken(CountingRows):
        def read(self, start, stop):
            if start > 0:
                raise OSError("disk gone")
            return super().read(start, stop)

    rows = np.arange(200)
    buffers = shuffled_buffers(rows, 10, 1, torch.Generator().manual_seed(0))
    spans = [(s * 10, (s + 1) * 10) for s in range(20)]
    with pytest.raises(OSError, match="disk gone"):
        list(BatchStream(Broken(_source(200)), buffers, spans, 10, CPU))
    before = threading.active_count()
    for _ in BatchStream(_source(200), buffers, spans, 10, CPU):
        break
    assert threading.active_count() == before


def test_read_rows_and_scan():
    source = _source(n=100)
    rows = np.array([3, 4, 40, 41, 99])
    np.testing.assert_array_equal(read_rows(source, rows, 8)[:, 0], rows)
    assert scan(source, 8) == scan(_source(n=100), 30)  # one digest whatever the chunking
    assert scan(source, 8) != scan(_source(n=99), 8)
    source.features[57, 1] = np.nan
    with pytest.raises(GeolocError, match=r"NaN or infinite values \(row 57\)"):
        scan(source, 8)
