"""The filter's partitioned spill and its parallel finishing give what a serial run gives."""

import json
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq
import pytest

import geoloc.gbif.filter as filter_module
from geoloc.gbif.dwca import Archive
from geoloc.params import DataParams
from tests.gbif.dwca_builder import BEETLE, PLANT, image, occurrence, write_archive

PARAMS = DataParams(
    country="FR",
    datasets={"plants": {"kingdom": "Plantae"}, "beetles": {"class": "Insecta"}},
    reject_issues=["ZERO_COORDINATE"],
    min_obs_per_species=4,
)


def _rows() -> list[dict]:
    """300 rows over 6 species, with duplicates, blank uncertainties, rejects and no images."""
    rng = np.random.default_rng(3)
    rows = []
    for gbif_id in range(1, 301):
        species = int(rng.choice(6, p=[0.3, 0.25, 0.2, 0.01, 0.14, 0.1]))
        taxon = {
            **(BEETLE if species >= 4 else PLANT),
            "speciesKey": str(100 + species),
            "species": f"Species {species}",
        }
        values = {
            "decimalLatitude": f"{45 + rng.integers(10) / 10:.1f}",
            "decimalLongitude": f"{2 + rng.integers(10) / 10:.1f}",
            "recordedBy": f"observer {rng.integers(3)}",
            "eventDate": f"2023-05-{1 + rng.integers(3):02d}",
            "coordinateUncertaintyInMeters": str(rng.choice(["", "10", "5000"])),
            "countryCode": str(rng.choice(["FR"] * 9 + ["DE"])),
        }
        rows.append(occurrence(gbif_id, taxon, **values))
    return rows


@pytest.fixture
def archive(tmp_path):
    images = [image(row["gbifID"]) for row in _rows() if int(row["gbifID"]) % 7]
    return write_archive(tmp_path / "many.zip", _rows(), images)


def _run(archive: Path, out: Path) -> tuple[dict, dict]:
    report = filter_module.filter_archive(archive, out, PARAMS, batch_rows=50, partition_bytes=5000)
    tables = {name: pq.read_table(out / f"{name}.parquet") for name in PARAMS.datasets}
    return report, tables


def test_parallel_finishing_matches_serial(archive, tmp_path, monkeypatch):
    monkeypatch.setattr(filter_module, "FINISH_THREADS", 1)
    serial_report, serial = _run(archive, tmp_path / "serial")
    monkeypatch.setattr(filter_module, "FINISH_THREADS", 4)
    parallel_report, parallel = _run(archive, tmp_path / "parallel")

    assert json.dumps(parallel_report) == json.dumps(serial_report)
    dropped = serial_report["datasets"]["plants"]["dropped"]
    assert dropped["duplicate"] and dropped["no_image"] and dropped["min_obs_per_species"]
    for name in PARAMS.datasets:
        assert serial[name].num_rows
        assert parallel[name].equals(serial[name])  # same rows in the same order


def test_spill_partitions_hold_their_rows_in_order(archive, tmp_path):
    partitions = 5
    counts = filter_module._Counts(list(PARAMS.datasets))
    spill = filter_module._Spill(tmp_path, "occ", filter_module._SPILL_SCHEMA, partitions)
    reading = {"block_size": 4096, "min_rows": 40}
    with Archive(archive) as opened:
        _, ids, parts = filter_module._spill_survivors(opened, PARAMS, counts, spill, reading)

    seen = []
    for partition in range(partitions):
        table = spill.read(partition)
        rows = table.column("row").to_numpy()
        assert np.all(np.diff(rows) > 0)  # the order of the archive within a partition
        key = filter_module._duplicate_hash(
            *(table.column(name).to_numpy() for name in ("species_key", "lat", "lon")),
            table.column("event_date"),
        )
        assert np.all(key % np.uint64(partitions) == partition)
        gbif_ids = table.column("gbif_id").to_numpy()
        assert np.all(parts[np.searchsorted(ids, gbif_ids)] == partition)
        seen.append(rows)
    assert np.array_equal(np.sort(np.concatenate(seen)), np.arange(len(ids)))
    assert np.all(np.diff(ids) >= 0)
