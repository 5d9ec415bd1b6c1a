"""The filter stage: a GBIF occurrence archive -> one clean Parquet table per dataset.

One streaming pass over `occurrence.txt` applies the row rules for every dataset at once and
spills the few columns that survive to temporary Arrow files, partitioned by a hash of species,
place and day (part of the duplicate key), so memory does not grow with the archive. A pass
over `multimedia.txt` then picks the first StillImage of each surviving record. Each partition is
then joined to its images and deduplicated on its own (duplicates always share a partition)
while species are counted, and a last sweep writes the species that have enough observations.
Every rule counts the rows it removes, per dataset, in report.json; a row is charged to the first
rule that rejects it.
"""

from __future__ import annotations

import contextlib
import math
import re
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
from tqdm import tqdm

from geoloc.data.dwca import (
    BLOCK_SIZE,
    DCTERMS,
    DWC,
    GBIF,
    ID_TERM,
    MIN_BATCH_ROWS,
    MULTIMEDIA,
    Archive,
    ReadStats,
    require_terms,
)
from geoloc.errors import GeolocError
from geoloc.io import atomic_path, write_json
from geoloc.params import DataParams

# Raw occurrence text per partition: bounds the rows held in memory when finishing a partition.
# The cap keeps open spill files well under the usual 1024 descriptors (partitions then grow).
PARTITION_BYTES = 256 << 20
MAX_PARTITIONS = 256

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


def _count(mask: pa.Array) -> int:
    return int(pc.sum(mask).as_py() or 0)


def _nonempty_or_null(values: pa.Array) -> pa.Array:
    return pc.if_else(pc.equal(values, ""), pa.scalar(None, pa.string()), values)


class _RowRules:
    """The rules decided by one occurrence row alone, applied batch by batch."""

    def __init__(self, params: DataParams, counts: _Counts):
        self.params = params
        self.counts = counts
        self.groups = [next(iter(params.datasets[name].items())) for name in counts.names]
        self.basis = pa.array(params.basis_of_record, pa.string())
        flags = "|".join(re.escape(flag) for flag in params.reject_issues)
        self.issue_pattern = f"(^|;)({flags})(;|$)" if flags else None
        self.next_row = 0

    def apply(self, batch: pa.RecordBatch) -> pa.Table | None:
        """Count what each rule drops from `batch`; return the survivors in spill form."""
        counts = self.counts
        country = pc.equal(batch.column("country"), self.params.country)
        counts.add_all("country", batch.num_rows - _count(country))
        batch = batch.filter(country)
        basis = pc.is_in(batch.column("basis_of_record"), value_set=self.basis)
        counts.add_all("basis_of_record", batch.num_rows - _count(basis))
        batch = batch.filter(basis)
        if batch.num_rows == 0:
            return None

        groups = [
            pc.equal(batch.column(rank), taxon).to_numpy(zero_copy_only=False)
            for rank, taxon in self.groups
        ]
        for name, group in zip(counts.names, groups, strict=True):
            counts.dropped[name]["taxon_group"] += int(batch.num_rows - group.sum())
        anywhere = np.logical_or.reduce(groups)
        batch = batch.filter(pa.array(anywhere))
        groups = [group[anywhere] for group in groups]
        if batch.num_rows == 0:
            return None

        checks, columns = self._checks(batch)
        survivors = []
        for index, (name, group) in enumerate(zip(counts.names, groups, strict=True)):
            alive = group
            for rule, keep in checks:
                counts.dropped[name][rule] += int(np.count_nonzero(alive & ~keep))
                alive = alive & keep
            if alive.any():
                rows = np.flatnonzero(alive)
                part = columns.take(pa.array(rows))
                survivors.append(
                    part.append_column("dataset", pa.array(np.full(len(rows), index, np.int32)))
                )
        if not survivors:
            return None
        table = pa.concat_tables(survivors)
        rows = np.arange(self.next_row, self.next_row + table.num_rows, dtype=np.int64)
        self.next_row += table.num_rows
        return table.append_column("row", pa.array(rows)).cast(_SPILL_SCHEMA)

    def _checks(self, batch: pa.RecordBatch) -> tuple[list, pa.Table]:
        """Keep-masks of the row rules after the taxon group, in order, and parsed columns."""
        species_key, key_ok = _parse_int(batch.column("species_key"))
        species_ok = key_ok & pc.equal(batch.column("taxon_rank"), "SPECIES").to_numpy(
            zero_copy_only=False
        )
        gbif_id, id_ok = _parse_int(batch.column("gbif_id"))
        if self.issue_pattern:
            flagged = pc.match_substring_regex(batch.column("issue"), self.issue_pattern)
            issues_ok = ~flagged.to_numpy(zero_copy_only=False)
        else:
            issues_ok = np.ones(batch.num_rows, bool)
        lat_text, lon_text = batch.column("lat"), batch.column("lon")
        present = pc.and_(pc.not_equal(lat_text, ""), pc.not_equal(lon_text, ""))
        present = present.to_numpy(zero_copy_only=False)
        lat, lon = _parse_float(lat_text), _parse_float(lon_text)
        numeric = ~np.isnan(lat) & ~np.isnan(lon)
        with np.errstate(invalid="ignore"):
            in_range = (np.abs(lat) <= 90) & (np.abs(lon) <= 180)
            uncertainty = _parse_float(batch.column("uncertainty_m"))
            blank = pc.equal(batch.column("uncertainty_m"), "").to_numpy(zero_copy_only=False)
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
        columns = {
            "gbif_id": pa.array(gbif_id),
            "species_key": pa.array(species_key),
            **{rank: _nonempty_or_null(batch.column(rank)) for rank in TAXONOMY},
            "lat": pa.array(lat),
            "lon": pa.array(lon),
            "uncertainty_m": pa.array(uncertainty.astype(np.float32), from_pandas=True),
            "event_date": _parse_date(batch.column("event_date")),
            "license": _nonempty_or_null(batch.column("license")),
            "dataset_key": _nonempty_or_null(batch.column("dataset_key")),
            "recorded_by": _nonempty_or_null(batch.column("recorded_by")),
        }
        return checks, pa.table(columns)


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
    rules = _RowRules(params, counts)
    partitions = len(spill.paths)
    ids, parts = [], []
    with (
        _progress(archive.member_size(archive.core), archive.core.location) as bar,
        contextlib.closing(
            archive.read_columns(archive.core, terms, stats=stats, on_bytes=bar.update, **reading)
        ) as batches,
    ):
        for batch in batches:
            table = rules.apply(batch)
            if table is None:
                continue
            if partitions == 1:
                partition = np.zeros(table.num_rows, np.int32)
            else:
                partition = (_duplicate_hash(table) % np.uint64(partitions)).astype(np.int32)
            ids.append(table.column("gbif_id").to_numpy())
            parts.append(partition)
            for index in np.unique(partition):
                spill.write(int(index), table.filter(pa.array(partition == index)))
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
    report = {"file": None, "rows_read": 0, "malformed_rows": 0, "images_joined": 0}
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


def _duplicate_hash(table: pa.Table) -> np.ndarray:
    """A 64-bit hash of species, place and day: rows with equal duplicate keys share it."""
    with np.errstate(over="ignore"):
        mixed = table.column("species_key").to_numpy().astype(np.uint64)
        day = pc.cast(table.column("event_date"), pa.int32()).fill_null(-1).to_numpy()
        for part in (
            (table.column("lat").to_numpy() + 0.0).view(np.uint64),  # + 0.0 folds -0.0 into 0.0
            (table.column("lon").to_numpy() + 0.0).view(np.uint64),
            day.astype(np.int64).view(np.uint64),
        ):
            mixed = (mixed ^ part) * np.uint64(0x9E3779B97F4A7C15)
            mixed ^= mixed >> np.uint64(29)
    return mixed


def _deduplicate(
    survivors: pa.Table, images: pa.Table, params: DataParams, counts: _Counts
) -> pa.Table:
    """Image rule and duplicates for one partition; adds its rows per species to `counts`."""
    table = survivors.append_column("image_url", _lookup_images(survivors, images))
    if params.require_image:
        has_image = pc.is_valid(table.column("image_url"))
        _charge(counts, "no_image", table.filter(pc.invert(has_image)))
        table = table.filter(has_image)
    if params.drop_duplicates and table.num_rows:
        first = table.group_by(["dataset", *DUPLICATE_KEY], use_threads=False).aggregate(
            [("row", "min")]
        )
        keep = pc.is_in(table.column("row"), value_set=first.column("row_min"))
        _charge(counts, "duplicate", table.filter(pc.invert(keep)))
        table = table.filter(keep)
    if table.num_rows:
        sizes = table.group_by(["dataset", "species_key"]).aggregate([("row", "count")])
        columns = (sizes.column(name).to_numpy() for name in sizes.column_names)
        for index, key, size in zip(*columns, strict=True):
            species = counts.per_species[counts.names[index]]
            species[key] = species.get(key, 0) + int(size)
    return table


def _common_species(table: pa.Table, params: DataParams, counts: _Counts) -> pa.Table:
    """Rows of species with at least data.min_obs_per_species observations in their dataset."""
    keep = np.zeros(table.num_rows, bool)
    dataset = table.column("dataset").to_numpy()
    species_key = table.column("species_key").to_numpy()
    for index, name in enumerate(counts.names):
        common = [k for k, n in counts.per_species[name].items() if n >= params.min_obs_per_species]
        keep |= (dataset == index) & np.isin(species_key, common)
    _charge(counts, "min_obs_per_species", table.filter(pa.array(~keep)))
    return table.filter(pa.array(keep))


def _charge(counts: _Counts, rule: str, dropped: pa.Table) -> None:
    """Add the rows of `dropped` to `rule`'s count of the dataset each belongs to."""
    per_dataset = np.bincount(dropped.column("dataset").to_numpy(), minlength=len(counts.names))
    for name, count in zip(counts.names, per_dataset, strict=True):
        counts.dropped[name][rule] += int(count)


def _finish(
    tmp: Path,
    occurrences: _Spill,
    images: _Spill,
    params: DataParams,
    counts: _Counts,
    writers: dict[str, pq.ParquetWriter],
) -> None:
    """Deduplicate partition by partition, then write the species common enough, per dataset."""
    unique = _Spill(tmp, "unique", _SPILL_SCHEMA.append(_URL_SCHEMA.field(1)), len(images.paths))
    for partition in range(len(unique.paths)):
        survivors = occurrences.read(partition)
        unique.write(partition, _deduplicate(survivors, images.read(partition), params, counts))
    unique.close()
    for partition in range(len(unique.paths)):
        table = _common_species(unique.read(partition), params, counts)
        for index, name in enumerate(counts.names):
            rows = table.filter(pc.equal(table.column("dataset"), index))
            counts.kept[name] += rows.num_rows
            writers[name].write_table(rows.select(OUTPUT_SCHEMA.names).cast(OUTPUT_SCHEMA))
    for name in counts.names:
        counts.species[name] = sum(
            n >= params.min_obs_per_species for n in counts.per_species[name].values()
        )


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
    names = list(params.datasets)
    counts = _Counts(names)
    out_dir.mkdir(parents=True, exist_ok=True)
    with (
        Archive(archive_path) as archive,
        tempfile.TemporaryDirectory(prefix=".filter-", dir=out_dir) as tmp,
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
