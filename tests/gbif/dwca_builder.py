"""Tiny GBIF-style Darwin Core Archives built inside tests (a few rows, real term URIs)."""

from __future__ import annotations

import zipfile
from pathlib import Path

DWC = "http://rs.tdwg.org/dwc/terms/"
GBIF = "http://rs.gbif.org/terms/1.0/"
DC = "http://purl.org/dc/terms/"

# Column order of a real download, with unrelated columns in between (read by term, not position).
OCCURRENCE_COLUMNS = [
    ("gbifID", GBIF + "gbifID"),
    ("abstract", DC + "abstract"),
    ("license", DC + "license"),
    ("basisOfRecord", DWC + "basisOfRecord"),
    ("recordedBy", DWC + "recordedBy"),
    ("eventDate", DWC + "eventDate"),
    ("countryCode", DWC + "countryCode"),
    ("decimalLatitude", DWC + "decimalLatitude"),
    ("decimalLongitude", DWC + "decimalLongitude"),
    ("coordinateUncertaintyInMeters", DWC + "coordinateUncertaintyInMeters"),
    ("kingdom", DWC + "kingdom"),
    ("phylum", DWC + "phylum"),
    ("class", DWC + "class"),
    ("order", DWC + "order"),
    ("family", DWC + "family"),
    ("genus", DWC + "genus"),
    ("taxonRank", DWC + "taxonRank"),
    ("datasetKey", GBIF + "datasetKey"),
    ("issue", GBIF + "issue"),
    ("mediaType", GBIF + "mediaType"),
    ("speciesKey", GBIF + "speciesKey"),
    ("species", GBIF + "species"),
]
MULTIMEDIA_COLUMNS = [
    ("gbifID", GBIF + "gbifID"),
    ("type", DC + "type"),
    ("format", DC + "format"),
    ("identifier", DC + "identifier"),
    ("license", DC + "license"),
]

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


def _table(columns, rows, header: bool) -> str:
    lines = ["\t".join(name for name, _ in columns)] if header else []
    for row in rows:
        lines.append(row if isinstance(row, str) else "\t".join(row.get(n, "") for n, _ in columns))
    return "\n".join(lines) + "\n"


def _fields(columns, tag: str) -> str:
    fields = "\n".join(
        f'    <field index="{i}" term="{uri}"/>' for i, (_, uri) in enumerate(columns)
    )
    return f'    <{tag} index="0"/>\n{fields}'


def meta_xml(
    occurrence_columns=OCCURRENCE_COLUMNS,
    *,
    header: bool = True,
    core_row_type: str = DWC + "Occurrence",
    core_file: str = "occurrence.txt",
    multimedia: bool = True,
) -> str:
    skip = 1 if header else 0
    attrs = f'encoding="UTF-8" fieldsTerminatedBy="\\t" linesTerminatedBy="\\n" fieldsEnclosedBy="" ignoreHeaderLines="{skip}"'
    extension = (
        f'  <extension {attrs} rowType="{GBIF}Multimedia">\n'
        f"    <files><location>multimedia.txt</location></files>\n"
        f"{_fields(MULTIMEDIA_COLUMNS, 'coreid')}\n  </extension>\n"
        if multimedia
        else ""
    )
    return (
        '<archive xmlns="http://rs.tdwg.org/dwc/text/" metadata="metadata.xml">\n'
        f'  <core {attrs} rowType="{core_row_type}">\n'
        f"    <files><location>{core_file}</location></files>\n"
        f"{_fields(occurrence_columns, 'id')}\n  </core>\n{extension}</archive>\n"
    )


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
    """Write a DwC-A zip; rows are dicts (by column name) or raw text lines."""
    members = {
        "meta.xml": meta if meta is not None else meta_xml(columns, header=header),
        "occurrence.txt": _table(columns, rows, header),
        "multimedia.txt": _table(MULTIMEDIA_COLUMNS, images or [], header),
        **(extra or {}),
    }
    with zipfile.ZipFile(path, "w", compression) as archive:
        for name, text in members.items():
            archive.writestr(name, text)
    return path
