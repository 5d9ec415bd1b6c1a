"""The filter stage: a GBIF occurrence archive -> one clean Parquet table per dataset.

One streaming pass over `occurrence.txt` applies the row rules for every dataset at once and
spills the few columns that survive to temporary Arrow files, partitioned by a hash of species,
place and day (part of the duplicate key), so memory does not grow with the archive. A pass
over `multimedia.txt` then picks the first StillImage of each surviving record. Each partition is
then joined to its images and deduplicated on its own (duplicates always share a partition, so
two are finished at a time) while species are counted, and a last sweep writes the species that
have enough observations, several datasets at a time.
Every rule counts the rows it removes, per dataset, in report.json; a row is charged to the first
rule that rejects it.
"""

from __future__ import annotations

import contextlib
import math
import os
import re
import shutil
import socket
import tempfile
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
from tqdm import tqdm

from geoloc.errors import GeolocError
from geoloc.gbif.descriptor import ID_TERM
from geoloc.gbif.dwca import BLOCK_SIZE, MIN_BATCH_ROWS, Archive, ReadStats, require_terms
from geoloc.gbif.terms import DCTERMS, DWC, GBIF, MULTIMEDIA
from geoloc.io import atomic_path, write_json
from geoloc.params import DataParams

# Raw occurrence text per partition: bounds the rows held in memory when finishing a partition.
# The cap keeps open spill files well under the usual 1024 descriptors (partitions then grow).
PARTITION_BYTES = 256 << 20
MAX_PARTITIONS = 256
# Threads finishing partitions: each holds one partition in memory, so this also bounds memory.
FINISH_THREADS = 2

TAXONOMY = ("species", "genus", "family", "order", "class", "phylum", "kingdom")

OCCURRENCE_TERMS = {
    "gbif_id": GBIF + "gbifID",
    "country": DWC + "countryCode",
    "basis_of_record": DWC + "basisOfRecord",
    "taxon_rank": DWC + "taxonRank",
    "species_key": GBIF + "speciesKey",
    "species": GBIF + "species",
    **{rank: DWC + rank for rank in TAXONOMY[1:]},
    "lat": DWC + "decimalLatitude",
    "lon": DWC + "decimalLongitude",
    "uncertainty_m": DWC + "coordinateUncertaintyInMeters",
    "event_date": DWC + "eventDate",
    "recorded_by": DWC + "recordedBy",
    "license": DCTERMS + "license",
    "dataset_key": GBIF + "datasetKey",
}
ISSUE_TERM = GBIF + "issue"
MULTIMEDIA_TERMS = {
    "gbif_id": ID_TERM,
    "type": DCTERMS + "type",
    "image_url": DCTERMS + "identifier",
}

OUTPUT_SCHEMA = pa.schema(
    [
        ("gbif_id", pa.int64()),
        ("species_key", pa.int64()),
        *[(rank, pa.string()) for rank in TAXONOMY],
        ("lat", pa.float64()),
        ("lon", pa.float64()),
        ("uncertainty_m", pa.float32()),
        ("event_date", pa.date32()),
        ("image_url", pa.string()),
        ("license", pa.string()),
        ("dataset_key", pa.string()),
    ]
)
# Spilled survivors: the output columns but the image, plus what dedup and ordering need.
_SPILL_SCHEMA = pa.schema(
    [field for field in OUTPUT_SCHEMA if field.name != "image_url"]
    + [("recorded_by", pa.string()), ("dataset", pa.int32()), ("row", pa.int64())]
)
# String columns spilled as read (empty -> null).
_SPILL_STRINGS = [*TAXONOMY, "license", "dataset_key", "recorded_by"]
_URL_SCHEMA = pa.schema([("gbif_id", pa.int64()), ("image_url", pa.string())])
DUPLICATE_KEY = ["species_key", "lat", "lon", "event_date", "recorded_by"]

RULES = (
    "malformed_row",
    "country",
    "basis_of_record",
    "taxon_group",
    "species_rank",
    "bad_gbif_id",
    "issues",
    "coordinates_missing",
    "coordinates_not_numeric",
    "coordinates_out_of_range",
    "uncertainty",
    "no_image",
    "duplicate",
    "min_obs_per_species",
)


def describe_rule(rule: str, params: DataParams, group: dict[str, str] | None = None) -> str:
    """What a rule removes, in words, for reports and error messages."""
    rank, taxon = next(iter(group.items())) if group else ("taxon group", "the dataset's")
    return {
        "malformed_row": "rows with the wrong number of fields",
        "country": f"countryCode is not {params.country} (data.country)",
        "basis_of_record": f"basisOfRecord not in {params.basis_of_record} (data.basis_of_record)",
        "taxon_group": f"{rank} is not {taxon} (data.datasets)",
        "species_rank": "taxonRank is not SPECIES or speciesKey is missing",
        "bad_gbif_id": "gbifID is not an integer",
        "issues": "carries a GBIF issue flag listed in data.reject_issues",
        "coordinates_missing": "no decimalLatitude/decimalLongitude",
        "coordinates_not_numeric": "decimalLatitude/decimalLongitude is not a number",
        "coordinates_out_of_range": "coordinates outside [-90, 90] x [-180, 180]",
        "uncertainty": (
            f"coordinateUncertaintyInMeters above {params.max_uncertainty_m:g} m or not a number "
            "(data.max_uncertainty_m)"
        ),
        "no_image": "no StillImage in multimedia.txt (data.require_image)",
        "duplicate": "same species, place, day and observer as another record",
        "min_obs_per_species": (
            f"species with fewer than {params.min_obs_per_species} observations "
            "(data.min_obs_per_species)"
        ),
    }[rule]


@dataclass
class _Counts:
    """Per-dataset rows removed by each rule, plus what was kept."""

    names: list[str]

    def __post_init__(self):
        self.dropped = {name: dict.fromkeys(RULES, 0) for name in self.names}
        self.kept = dict.fromkeys(self.names, 0)
        self.species = dict.fromkeys(self.names, 0)
        self.per_species: dict[str, dict[int, int]] = {name: {} for name in self.names}

    def add_all(self, rule: str, count: int) -> None:
        for name in self.names:
            self.dropped[name][rule] += int(count)

    def add_partition(self, dropped: dict[str, np.ndarray], sizes: pa.Table) -> None:
        """Add one finished partition: rows dropped per rule and dataset, kept rows per species."""
        for rule, per_dataset in dropped.items():
            for name, count in zip(self.names, per_dataset, strict=True):
                self.dropped[name][rule] += int(count)
        columns = (sizes.column(name).to_numpy() for name in sizes.column_names)
        for index, key, size in zip(*columns, strict=True):
            species = self.per_species[self.names[index]]
            species[key] = species.get(key, 0) + int(size)

    def common_species(self, name: str, min_obs: int) -> np.ndarray:
        """Species keys of dataset `name` with at least `min_obs` kept rows."""
        return np.array([k for k, n in self.per_species[name].items() if n >= min_obs], np.int64)


def _parse_float(values: pa.Array) -> np.ndarray:
    """Strings -> float64 with NaN for empty or non-numeric values."""
    nulled = _nonempty_or_null(values)
    try:
        return pc.cast(nulled, pa.float64()).to_numpy(zero_copy_only=False)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        return pd.to_numeric(nulled.to_pandas(), errors="coerce").to_numpy(dtype=np.float64)


def _parse_int(values: pa.Array) -> tuple[np.ndarray, np.ndarray]:
    """Strings (surrounding blanks ignored) -> int64 values (0 where invalid) and a valid mask."""
    nulled = _nonempty_or_null(pc.utf8_trim_whitespace(values))
    try:
        parsed = pc.cast(nulled, pa.int64())
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        numbers = pd.to_numeric(nulled.to_pandas(), errors="coerce")
        numbers = numbers.where((numbers.abs() < 2**62) & (numbers == np.floor(numbers)))
        parsed = pa.array(numbers.astype("Int64"), pa.int64())
    valid = pc.is_valid(parsed).to_numpy(zero_copy_only=False)
    return parsed.fill_null(0).to_numpy(zero_copy_only=False), valid


def _parse_date(values: pa.Array) -> pa.Array:
    """GBIF eventDate (ISO date, datetime or interval) -> the date it starts on, else null."""
    day = pc.utf8_slice_codeunits(values, 0, 10)
    stamps = pc.strptime(day, format="%Y-%m-%d", unit="s", error_is_null=True)
    return pc.cast(stamps, pa.date32())


def _mask(values: pa.Array) -> np.ndarray:
    """A boolean Arrow array without nulls as a numpy mask."""
    return values.to_numpy(zero_copy_only=False)


def _nonempty_or_null(values: pa.Array) -> pa.Array:
    return pc.if_else(pc.equal(values, ""), pa.scalar(None, pa.string()), values)


class _RowRules:
    """The rules decided by one occurrence row alone, applied batch by batch.

    The rules compute masks; the wide batch is copied only twice (once after the cheap rules,
    once when taking the survivors in spill order), since copying string columns costs more
    than the rules themselves.
    """

    def __init__(self, params: DataParams, counts: _Counts, partitions: int):
        self.params = params
        self.counts = counts
        self.partitions = partitions
        self.groups = [next(iter(params.datasets[name].items())) for name in counts.names]
        self.basis = pa.array(params.basis_of_record, pa.string())
        flags = "|".join(re.escape(flag) for flag in params.reject_issues)
        self.issue_pattern = f"(^|;)({flags})(;|$)" if flags else None
        self.next_row = 0

    def apply(self, batch: pa.RecordBatch) -> tuple[pa.Table, np.ndarray, np.ndarray] | None:
        """Count what each rule drops from `batch` and return its survivors.

        Returns the survivors in spill form grouped by partition (keeping their order within a
        partition), and, in dataset-major order, their gbif_ids and partitions.
        """
        counts = self.counts
        column = batch.column
        country = _mask(pc.equal(column("country"), self.params.country))
        basis = _mask(pc.is_in(column("basis_of_record"), value_set=self.basis))
        counts.add_all("country", batch.num_rows - np.count_nonzero(country))
        counts.add_all("basis_of_record", np.count_nonzero(country & ~basis))
        passed = country & basis
        groups = [passed & _mask(pc.equal(column(rank), taxon)) for rank, taxon in self.groups]
        total = np.count_nonzero(passed)
        for name, group in zip(counts.names, groups, strict=True):
            counts.dropped[name]["taxon_group"] += int(total - np.count_nonzero(group))
        anywhere = np.logical_or.reduce(groups)
        if not anywhere.any():
            return None
        batch = batch.filter(pa.array(anywhere))
        groups = [group[anywhere] for group in groups]

        checks, numbers = self._checks(batch)
        rows, datasets = [], []
        for index, (name, group) in enumerate(zip(counts.names, groups, strict=True)):
            alive = group
            for rule, keep in checks:
                counts.dropped[name][rule] += int(np.count_nonzero(alive & ~keep))
                alive = alive & keep
            rows.append(np.flatnonzero(alive))
            datasets.append(np.full(len(rows[-1]), index, np.int32))
        rows = np.concatenate(rows)
        if len(rows) == 0:
            return None
        numbers = {name: values[rows] for name, values in numbers.items()}
        numbers["dataset"] = np.concatenate(datasets)
        numbers["row"] = np.arange(self.next_row, self.next_row + len(rows), dtype=np.int64)
        self.next_row += len(rows)
        event_date = _parse_date(batch.column("event_date").take(rows))
        if self.partitions == 1:
            partition = np.zeros(len(rows), np.int32)
        else:
            key = _duplicate_hash(
                numbers["species_key"], numbers["lat"], numbers["lon"], event_date
            )
            partition = (key % np.uint64(self.partitions)).astype(np.int32)
        order = np.argsort(partition, kind="stable")
        strings = batch.select(_SPILL_STRINGS).take(rows[order])
        columns = {
            **{name: pa.array(values[order]) for name, values in numbers.items()},
            # a blank uncertainty (NaN) is spilled as null
            "uncertainty_m": pa.array(numbers["uncertainty_m"][order], from_pandas=True),
            **{name: _nonempty_or_null(strings.column(name)) for name in _SPILL_STRINGS},
            "event_date": event_date.take(order),
        }
        table = pa.table({name: columns[name] for name in _SPILL_SCHEMA.names})
        return table.cast(_SPILL_SCHEMA), numbers["gbif_id"], partition

    def _checks(self, batch: pa.RecordBatch) -> tuple[list, dict[str, np.ndarray]]:
        """Keep-masks of the row rules after the taxon group, in order, and parsed numbers."""
        species_key, key_ok = _parse_int(batch.column("species_key"))
        species_ok = key_ok & _mask(pc.equal(batch.column("taxon_rank"), "SPECIES"))
        gbif_id, id_ok = _parse_int(batch.column("gbif_id"))
        if self.issue_pattern:
            issues_ok = ~_mask(pc.match_substring_regex(batch.column("issue"), self.issue_pattern))
        else:
            issues_ok = np.ones(batch.num_rows, bool)
        lat_text, lon_text = batch.column("lat"), batch.column("lon")
        present = _mask(pc.and_(pc.not_equal(lat_text, ""), pc.not_equal(lon_text, "")))
        lat, lon = _parse_float(lat_text), _parse_float(lon_text)
        numeric = ~np.isnan(lat) & ~np.isnan(lon)
        with np.errstate(invalid="ignore"):
            in_range = (np.abs(lat) <= 90) & (np.abs(lon) <= 180)
            uncertainty = _parse_float(batch.column("uncertainty_m"))
            blank = _mask(pc.equal(batch.column("uncertainty_m"), ""))
            uncertainty_ok = blank | (
                (uncertainty >= 0) & (uncertainty <= self.params.max_uncertainty_m)
            )
        checks = [
            ("species_rank", species_ok),
            ("bad_gbif_id", id_ok),
            ("issues", issues_ok),
            ("coordinates_missing", present),
            ("coordinates_not_numeric", numeric | ~present),
            ("coordinates_out_of_range", in_range | ~numeric),
            ("uncertainty", uncertainty_ok),
        ]
        numbers = {
            "gbif_id": gbif_id,
            "species_key": species_key,
            "lat": lat,
            "lon": lon,
            "uncertainty_m": uncertainty.astype(np.float32),
        }
        return checks, numbers


class _Spill:
    """Temporary Arrow IPC files, one per partition, appended batch by batch (cheap to write)."""

    def __init__(self, folder: Path, prefix: str, schema: pa.Schema, partitions: int):
        self.paths = [folder / f"{prefix}-{index}.arrow" for index in range(partitions)]
        self.schema = schema
        self._writers: dict[int, pa.ipc.RecordBatchFileWriter] = {}

    def write(self, partition: int, table: pa.Table) -> None:
        if partition not in self._writers:
            self._writers[partition] = pa.ipc.new_file(self.paths[partition], self.schema)
        self._writers[partition].write_table(table)

    def close(self) -> None:
        for writer in self._writers.values():
            writer.close()

    def read(self, partition: int) -> pa.Table:
        if partition in self._writers:
            with pa.memory_map(str(self.paths[partition])) as source:
                return pa.ipc.open_file(source).read_all()
        return self.schema.empty_table()


def _progress(total: int, label: str) -> tqdm:
    return tqdm(total=total, unit="B", unit_scale=True, unit_divisor=1024, desc=label)


def _occurrence_terms(params: DataParams) -> dict[str, str]:
    terms = dict(OCCURRENCE_TERMS)
    if params.reject_issues:
        terms["issue"] = ISSUE_TERM
    return terms


def _spill_survivors(
    archive: Archive, params: DataParams, counts: _Counts, spill: _Spill, reading: dict
) -> tuple[ReadStats, np.ndarray, np.ndarray]:
    """Pass 1 over occurrence.txt; returns read stats and survivors' (gbif_id, partition)."""
    terms = _occurrence_terms(params)
    if not archive.core.has(terms["gbif_id"]) and archive.core.has(ID_TERM):
        terms["gbif_id"] = ID_TERM
    require_terms(archive, archive.core, terms)
    stats = ReadStats()
    rules = _RowRules(params, counts, len(spill.paths))
    ids, parts = [], []
    with (
        _progress(archive.member_size(archive.core), archive.core.location) as bar,
        contextlib.closing(
            archive.read_columns(archive.core, terms, stats=stats, on_bytes=bar.update, **reading)
        ) as batches,
    ):
        for batch in batches:
            survivors = rules.apply(batch)
            if survivors is None:
                continue
            table, gbif_id, partition = survivors
            ids.append(gbif_id)
            parts.append(partition)
            present, sizes = np.unique(partition, return_counts=True)
            for index, start, size in zip(present, np.cumsum(sizes) - sizes, sizes, strict=True):
                spill.write(int(index), table.slice(start, size))
    spill.close()
    counts.add_all("malformed_row", stats.malformed)
    if not ids:
        return stats, np.empty(0, np.int64), np.empty(0, np.int32)
    ids_all, parts_all = np.concatenate(ids), np.concatenate(parts)
    order = np.argsort(ids_all, kind="stable")
    return stats, ids_all[order], parts_all[order]


def _spill_images(
    archive: Archive, ids: np.ndarray, parts: np.ndarray, spill: _Spill, reading: dict
) -> dict:
    """Pass 2 over multimedia.txt: the first StillImage of each surviving record."""
    spec = archive.extension(MULTIMEDIA)
    report = {"file": None, "rows_read": 0, "malformed_rows": 0, "invalid_utf8_values": 0,
              "images_joined": 0}  # fmt: skip
    if spec is None or len(ids) == 0:
        spill.close()
        return report
    require_terms(archive, spec, MULTIMEDIA_TERMS)
    stats = ReadStats()
    seen = np.zeros(len(ids), bool)
    with (
        _progress(archive.member_size(spec), spec.location) as bar,
        contextlib.closing(
            archive.read_columns(
                spec, MULTIMEDIA_TERMS, stats=stats, on_bytes=bar.update, **reading
            )
        ) as batches,
    ):
        for batch in batches:
            still = pc.and_(
                pc.equal(batch.column("type"), "StillImage"),
                pc.not_equal(pc.utf8_trim_whitespace(batch.column("image_url")), ""),
            )
            batch = batch.filter(still)
            key, valid = _parse_int(batch.column("gbif_id"))
            position = np.minimum(np.searchsorted(ids, key), len(ids) - 1)
            wanted = valid & (ids[position] == key) & ~seen[position]
            rows = np.flatnonzero(wanted)
            first_positions, first = np.unique(position[rows], return_index=True)
            rows = rows[first]
            seen[first_positions] = True
            if len(rows) == 0:
                continue
            table = pa.table(
                {
                    "gbif_id": pa.array(key[rows]),
                    "image_url": pc.utf8_trim_whitespace(batch.column("image_url")).take(rows),
                }
            )
            partition = parts[position[rows]]
            for index in np.unique(partition):
                spill.write(int(index), table.filter(pa.array(partition == index)))
    spill.close()
    report.update(
        file=spec.location,
        rows_read=stats.rows + stats.malformed,
        malformed_rows=stats.malformed,
        invalid_utf8_values=stats.invalid_text,
        images_joined=int(seen.sum()),
    )
    return report


def _lookup_images(survivors: pa.Table, images: pa.Table) -> pa.Array:
    """Each survivor's image URL (null when it has none); image gbif_ids are unique."""
    image_ids = images.column("gbif_id").to_numpy()
    if len(image_ids) == 0:
        return pa.nulls(survivors.num_rows, pa.string())
    order = np.argsort(image_ids)
    ids = survivors.column("gbif_id").to_numpy()
    position = np.minimum(np.searchsorted(image_ids[order], ids), len(order) - 1)
    found = image_ids[order][position] == ids
    return images.column("image_url").take(pa.array(order[position], mask=~found))


def _duplicate_hash(
    species_key: np.ndarray, lat: np.ndarray, lon: np.ndarray, event_date: pa.Array
) -> np.ndarray:
    """A 64-bit hash of species, place and day: rows with equal duplicate keys share it."""
    with np.errstate(over="ignore"):
        mixed = species_key.astype(np.uint64)
        day = pc.cast(event_date, pa.int32()).fill_null(-1).to_numpy()
        for part in (
            (lat + 0.0).view(np.uint64),  # + 0.0 folds -0.0 into 0.0
            (lon + 0.0).view(np.uint64),
            day.astype(np.int64).view(np.uint64),
        ):
            mixed = (mixed ^ part) * np.uint64(0x9E3779B97F4A7C15)
            mixed ^= mixed >> np.uint64(29)
    return mixed


def _deduplicate(
    survivors: pa.Table, images: pa.Table, params: DataParams, datasets: int
) -> tuple[pa.Table, dict[str, np.ndarray], pa.Table]:
    """Image rule and duplicates for one partition.

    Returns the rows kept, the rows each rule dropped per dataset, and the kept rows per
    (dataset, species_key). Touches no shared state, so partitions can be finished in parallel.
    The rules only compute masks; the wide table is filtered once, at the end.
    """
    table = survivors.append_column("image_url", _lookup_images(survivors, images))
    dataset = table.column("dataset").to_numpy()
    keep = np.ones(table.num_rows, bool)
    dropped = {}
    if params.require_image:
        keep = pc.is_valid(table.column("image_url")).to_numpy(zero_copy_only=False)
        dropped["no_image"] = np.bincount(dataset[~keep], minlength=datasets)
    if params.drop_duplicates and keep.any():
        candidates = table.select(["dataset", *DUPLICATE_KEY, "row"]).filter(pa.array(keep))
        first = candidates.group_by(["dataset", *DUPLICATE_KEY], use_threads=False).aggregate(
            [("row", "min")]
        )
        unique = pc.is_in(table.column("row"), value_set=first.column("row_min"))
        unique = unique.to_numpy(zero_copy_only=False)
        dropped["duplicate"] = np.bincount(dataset[keep & ~unique], minlength=datasets)
        keep &= unique
    table = table.filter(pa.array(keep))
    sizes = table.group_by(["dataset", "species_key"], use_threads=False).aggregate(
        [("row", "count")]
    )
    return table, dropped, sizes


def _write_dataset(
    unique: _Spill, index: int, common: np.ndarray, writer: pq.ParquetWriter
) -> tuple[int, int]:
    """Write dataset `index`'s rows of common species, partition by partition.

    Returns (rows kept, rows of rare species dropped). Each dataset has its own writer, so
    datasets can be written in parallel while each keeps the partition order.
    """
    kept = rare = 0
    for partition in range(len(unique.paths)):
        table = unique.read(partition)
        mine = table.column("dataset").to_numpy() == index
        keep = mine & np.isin(table.column("species_key").to_numpy(), common)
        kept += int(np.count_nonzero(keep))
        rare += int(np.count_nonzero(mine & ~keep))
        rows = table.select(OUTPUT_SCHEMA.names).filter(pa.array(keep))
        writer.write_table(rows.cast(OUTPUT_SCHEMA))
    return kept, rare


def _finish(
    tmp: Path,
    occurrences: _Spill,
    images: _Spill,
    params: DataParams,
    counts: _Counts,
    writers: dict[str, pq.ParquetWriter],
) -> None:
    """Deduplicate partition by partition, then write the species common enough, per dataset.

    Both steps run in FINISH_THREADS threads (pyarrow and numpy release the GIL); counts are
    merged here in partition and dataset order, so the outputs match a serial run's.
    """
    unique = _Spill(tmp, "unique", _SPILL_SCHEMA.append(_URL_SCHEMA.field(1)), len(images.paths))

    def deduplicate(partition: int) -> tuple[dict[str, np.ndarray], pa.Table]:
        survivors = occurrences.read(partition)
        table, dropped, sizes = _deduplicate(
            survivors, images.read(partition), params, len(counts.names)
        )
        unique.write(partition, table)
        return dropped, sizes

    with ThreadPoolExecutor(FINISH_THREADS) as pool:
        for dropped, sizes in pool.map(deduplicate, range(len(unique.paths))):
            counts.add_partition(dropped, sizes)
        unique.close()
        common = [counts.common_species(name, params.min_obs_per_species) for name in counts.names]
        written = pool.map(
            _write_dataset,
            [unique] * len(counts.names),
            range(len(counts.names)),
            common,
            [writers[name] for name in counts.names],
        )
        for name, species, (kept, rare) in zip(counts.names, common, written, strict=True):
            counts.kept[name] += kept
            counts.dropped[name]["min_obs_per_species"] += rare
            counts.species[name] = len(species)


def _check_not_empty(name: str, rows_read: int, counts: _Counts, params: DataParams) -> None:
    if counts.kept[name]:
        return
    if rows_read == 0:
        raise GeolocError("the archive's occurrence file has no data rows")
    dropped = counts.dropped[name]
    last = [rule for rule in RULES if dropped[rule]][-1]
    summary = ", ".join(f"{rule} {n}" for rule, n in dropped.items() if n)
    raise GeolocError(
        f"dataset {name!r}: no observations left of {rows_read} rows read; the last ones "
        f"({dropped[last]}) were removed by rule {last!r}: "
        f"{describe_rule(last, params, params.datasets[name])}. Rows removed per rule: {summary}"
    )


def _report(
    archive: Archive,
    archive_path: str | Path,
    stats: ReadStats,
    multimedia: dict,
    counts: _Counts,
    params: DataParams,
) -> dict:
    rows_read = stats.rows + stats.malformed
    return {
        "archive": str(archive_path),
        "occurrence_file": archive.core.location,
        "rows_read": rows_read,
        "malformed_rows": stats.malformed,
        "malformed_examples": stats.malformed_examples,
        "invalid_utf8_values": stats.invalid_text,
        "multimedia": multimedia,
        "rules": {rule: describe_rule(rule, params) for rule in RULES},
        "datasets": {
            name: {
                "taxon_group": params.datasets[name],
                "rows_read": rows_read,
                "dropped": counts.dropped[name],
                "kept": counts.kept[name],
                "species": counts.species[name],
            }
            for name in counts.names
        },
    }


WORK_PREFIX = ".filter-"


def _work_prefix() -> str:
    """The temporary folder's name says whose it is: `.filter-<host>-<pid>-`."""
    return f"{WORK_PREFIX}{socket.gethostname()}-{os.getpid()}-"


def remove_stale_work(out_dir: Path) -> list[Path]:
    """Remove what killed runs left in `out_dir`: temporary folders (those of this host whose
    process is gone, and unnamed ones of older versions) and half-written outputs."""
    stale = []
    for folder in out_dir.glob(f"{WORK_PREFIX}*"):
        owner = folder.name.removeprefix(WORK_PREFIX).rsplit("-", 2)
        if len(owner) == 3 and (owner[0] != socket.gethostname() or _alive(owner[1])):
            continue
        shutil.rmtree(folder, ignore_errors=True)
        stale.append(folder)
    for partial in out_dir.glob(".*.tmp-*"):  # geoloc.io.atomic_path's, named by their pid
        if partial.is_file() and not _alive(partial.name.rsplit("-", 1)[1]):
            partial.unlink(missing_ok=True)
            stale.append(partial)
    return stale


def _alive(pid: str) -> bool:
    if not pid.isdigit():
        return False
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # another user's process
    return True


def describe_report(report: dict, out_dir: Path) -> str:
    """The report in a few lines: rows read, and per dataset what was kept and each rule removed."""
    lines = [
        f"{report['occurrence_file']}: {report['rows_read']} rows read, "
        f"{report['malformed_rows']} malformed, {report['invalid_utf8_values']} values not UTF-8"
    ]
    for name, dataset in report["datasets"].items():
        removed = ", ".join(f"{rule} {n}" for rule, n in dataset["dropped"].items() if n)
        lines.append(
            f"{name}: kept {dataset['kept']} of {report['rows_read']} rows ({dataset['species']} "
            f"species) -> {out_dir / name}.parquet; removed: {removed or 'none'}"
        )
    return "\n".join(lines)


def filter_archive(
    archive_path: str | Path,
    out_dir: str | Path,
    params: DataParams,
    *,
    block_size: int = BLOCK_SIZE,
    batch_rows: int = MIN_BATCH_ROWS,
    partition_bytes: int = PARTITION_BYTES,
) -> dict:
    """Filter a GBIF DwC-A into `out_dir/<dataset>.parquet` + `out_dir/report.json`.

    Returns the report. Raises GeolocError, leaving no output behind, for a bad archive or a
    dataset that ends up empty (the message names the rule that removed its last rows).
    """
    out_dir = Path(out_dir)
    if out_dir.exists() and not out_dir.is_dir():
        raise GeolocError(f"output folder {out_dir} is a file")
    created = not out_dir.exists()
    out_dir.mkdir(parents=True, exist_ok=True)
    remove_stale_work(out_dir)
    try:
        return _filter(archive_path, out_dir, params, block_size, batch_rows, partition_bytes)
    except BaseException:
        if created:
            with contextlib.suppress(OSError):
                out_dir.rmdir()  # a failed run leaves no empty folder behind
        raise


def _filter(archive_path, out_dir: Path, params: DataParams, block_size, batch_rows,
            partition_bytes) -> dict:  # fmt: skip
    names = list(params.datasets)
    counts = _Counts(names)
    with (
        Archive(archive_path) as archive,
        tempfile.TemporaryDirectory(prefix=_work_prefix(), dir=out_dir) as tmp,
    ):
        size = archive.member_size(archive.core)
        partitions = min(MAX_PARTITIONS, max(1, math.ceil(size / partition_bytes)))
        occurrences = _Spill(Path(tmp), "occurrence", _SPILL_SCHEMA, partitions)
        images = _Spill(Path(tmp), "images", _URL_SCHEMA, partitions)
        reading = {"block_size": block_size, "min_rows": batch_rows}
        stats, ids, parts = _spill_survivors(archive, params, counts, occurrences, reading)
        multimedia = _spill_images(archive, ids, parts, images, reading)
        del ids, parts
        rows_read = stats.rows + stats.malformed
        with contextlib.ExitStack() as outputs:
            paths = {
                name: outputs.enter_context(atomic_path(out_dir / f"{name}.parquet"))
                for name in names
            }
            writers = {
                name: outputs.enter_context(pq.ParquetWriter(paths[name], OUTPUT_SCHEMA))
                for name in names
            }
            _finish(Path(tmp), occurrences, images, params, counts, writers)
            for name in names:
                _check_not_empty(name, rows_read, counts, params)
            report = _report(archive, archive_path, stats, multimedia, counts, params)
        write_json(out_dir / "report.json", report)
    return report
