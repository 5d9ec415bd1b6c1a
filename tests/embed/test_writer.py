"""The part log and the final file: resolution rules, damaged or half-written parts."""

from __future__ import annotations

import numpy as np

from geoloc.embed.store import read_embeddings
from geoloc.embed.writer import PartLog, Records, fingerprint, read_records, write_embedding_file

ATTRS = {"backbone": "b", "weights_id": "w", "image_size": 32, "dim": 2, "precision": "fp32"}


def test_log_resolution_first_embedding_wins_then_latest_failure(tmp_path):
    log = PartLog(tmp_path / "work", rank=1)
    log.append([1, 2], np.eye(2), [3, 4], ["timeout", "http_404"])
    log.append([3], [[0.6, 0.8]], [4, 5], ["http_500", "truncated"])  # 3 retried, 4 failed again
    log.append([1], [[0.0, 1.0]], [], [])  # a duplicate from an overlapping rerun
    (tmp_path / "work" / ".part-9-r0001.h5.tmp").write_bytes(b"half written")
    (tmp_path / "work" / "part-99999999999999999999-r0002.h5").write_bytes(b"power cut")
    records = log.read(dim=2).resolved()
    assert records.gbif_id.tolist() == [1, 2, 3]
    np.testing.assert_array_equal(records.embedding[0], [1, 0])  # first embedding of id 1
    assert dict(zip(records.failed_id.tolist(), records.failed_reason, strict=True)) == {
        4: "http_500",
        5: "truncated",
    }
    assert len(log.parts()) == 3  # the damaged part was dropped, the .tmp never counted


def test_final_file_is_chunked_appendable_and_reads_back(tmp_path):
    path = tmp_path / "e.h5"
    emb = np.array([[1.0, 0.0], [0.0, 1.0], [0.6, 0.8]], np.float32)
    write_embedding_file(
        path, gbif_id=np.array([7, 8, 9]), embedding=emb, lat=np.array([45.0, 46, 47]),
        lon=np.array([1.0, 2, 3]), species_key=np.array([5, 5, 6]), failed_id=np.array([10]),
        failed_reason=np.array(["http_404"], object), attrs=ATTRS,
        text={"species_key": [5, 6], "species": ["A a", "B b"], "embedding": emb[:2]},
    )  # fmt: skip
    table = read_embeddings(path)
    assert table.gbif_id.tolist() == [7, 8, 9] and table.attrs["fingerprint"] == fingerprint(ATTRS)
    assert table.attrs["version_torch"] and table.text.species.tolist() == ["A a", "B b"]
    np.testing.assert_allclose(table.embedding, emb, atol=1e-3)
    again = read_records(path, ATTRS)
    assert again.gbif_id.tolist() == [7, 8, 9] and again.failed_reason.tolist() == ["http_404"]
    assert read_records(path, {**ATTRS, "image_size": 64}) is None  # another configuration
    assert isinstance(Records.empty(2).resolved().gbif_id, np.ndarray)
