"""Tiny GBIF-style Darwin Core Archives built inside tests (a few rows, real term URIs), written
with the project's one DwC-A writer (geoloc.gbif.writer)."""

from __future__ import annotations

import zipfile
from pathlib import Path

from geoloc.gbif.terms import DCTERMS, MULTIMEDIA, MULTIMEDIA_COLUMNS, OCCURRENCE
from geoloc.gbif.terms import OCCURRENCE_COLUMNS as GBIF_COLUMNS
from geoloc.gbif.writer import ArchiveWriter, DataFile, descriptor_xml

# GBIF's columns with an unrelated one in between (columns are read by term, not position).
OCCURRENCE_COLUMNS = [GBIF_COLUMNS[0], ("abstract", DCTERMS + "abstract"), *GBIF_COLUMNS[1:]]

PLANT = {"kingdom": "Plantae", "phylum": "Tracheophyta", "class": "Magnoliopsida",
         "order": "Lamiales", "family": "Lamiaceae", "genus": "Salvia",
         "species": "Salvia pratensis", "speciesKey": "5341289"}  # fmt: skip
BEETLE = {"kingdom": "Animalia", "phylum": "Arthropoda", "class": "Insecta",
          "order": "Coleoptera", "family": "Coccinellidae", "genus": "Coccinella",
          "species": "Coccinella septempunctata", "speciesKey": "4989904"}  # fmt: skip


def occurrence(gbif_id: int, taxon: dict | None = None, **values: str) -> dict[str, str]:
    """A row that passes every default rule in France unless `values` say otherwise."""
    row = {
        "gbifID": str(gbif_id),
        "license": "CC_BY_4_0",
        "basisOfRecord": "HUMAN_OBSERVATION",
        "recordedBy": f"observer {gbif_id}",
        "eventDate": "2023-05-04T10:00:00",
        "countryCode": "FR",
        "decimalLatitude": f"{45 + gbif_id % 97 / 100:.4f}",
        "decimalLongitude": f"{2 + gbif_id % 89 / 100:.4f}",
        "coordinateUncertaintyInMeters": "10.0",
        "taxonRank": "SPECIES",
        "datasetKey": "50c9509d-22c7-4a22-a47d-8c48425ef4a7",
        "issue": "GEODETIC_DATUM_ASSUMED_WGS84",
        "mediaType": "StillImage",
        **(taxon or PLANT),
    }
    row.update(values)
    return row


def image(gbif_id: int | str, url: str | None = None, kind: str = "StillImage") -> dict:
    return {
        "gbifID": str(gbif_id),
        "type": kind,
        "format": "image/jpeg",
        "identifier": url or f"https://example.org/{str(gbif_id).strip()}.jpg",
        "license": "http://creativecommons.org/licenses/by/4.0/",
    }


def _files(columns, header: bool, core_row_type: str, core_file: str) -> tuple[DataFile, DataFile]:
    core = DataFile(core_file, core_row_type, columns, header)
    return core, DataFile("multimedia.txt", MULTIMEDIA, MULTIMEDIA_COLUMNS, header)


def meta_xml(
    occurrence_columns=OCCURRENCE_COLUMNS,
    *,
    header: bool = True,
    core_row_type: str = OCCURRENCE,
    core_file: str = "occurrence.txt",
    multimedia: bool = True,
) -> str:
    """The descriptor the writer gives these files, or a variant of it that misdescribes them."""
    core, media = _files(occurrence_columns, header, core_row_type, core_file)
    return descriptor_xml(core, [media] if multimedia else [])


def write_archive(
    path: Path,
    rows: list,
    images: list | None = None,
    *,
    columns=OCCURRENCE_COLUMNS,
    header: bool = True,
    meta: str | None = None,
    extra: dict[str, str] | None = None,
    compression: int = zipfile.ZIP_DEFLATED,
) -> Path:
    """Write a DwC-A zip; rows are dicts (by column name) or raw text lines; `meta` replaces the
    descriptor the writer would add."""
    core, media = _files(columns, header, OCCURRENCE, "occurrence.txt")
    with ArchiveWriter(path, compression) as archive:
        archive.add_table(core, rows)
        archive.add_table(media, images or [])
        for name, text in (extra or {}).items():
            archive.add_text(name, text)
        if meta is None:
            archive.write_descriptor()
        else:
            archive.add_text("meta.xml", meta)
    return path


def replace_member(path: Path, name: str, data: bytes | None = None, old=b"", new=b"") -> Path:
    """Rewrite one member of a zip: `data`, or its bytes with `old` replaced by `new`."""
    with zipfile.ZipFile(path) as archive:
        members = {info.filename: archive.read(info) for info in archive.infolist()}
    members[name] = data if data is not None else members[name].replace(old, new, 1)
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        for member, content in members.items():
            archive.writestr(member, content)
    return path
