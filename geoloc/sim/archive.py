"""Write records as a GBIF-format Darwin Core Archive: meta.xml with the real term URIs,
tab-separated occurrence.txt and multimedia.txt with GBIF's column names (a realistic subset of
GBIF's ~240 occurrence columns, in GBIF's order), EML metadata saying the data are simulated.

The zip is byte-for-byte reproducible: members in a fixed order with a fixed timestamp.
"""

from __future__ import annotations

import zipfile
from pathlib import Path
from xml.sax.saxutils import escape

DWC = "http://rs.tdwg.org/dwc/terms/"
GBIF = "http://rs.gbif.org/terms/1.0/"
DCTERMS = "http://purl.org/dc/terms/"

# (column name, namespace), in the order a GBIF download lists them.
OCCURRENCE_COLUMNS: list[tuple[str, str]] = [
    ("gbifID", GBIF),
    ("identifier", DCTERMS),
    ("license", DCTERMS),
    ("modified", DCTERMS),
    ("references", DCTERMS),
    ("rightsHolder", DCTERMS),
    ("institutionCode", DWC),
    ("collectionCode", DWC),
    ("datasetName", DWC),
    ("basisOfRecord", DWC),
    ("occurrenceID", DWC),
    ("catalogNumber", DWC),
    ("recordedBy", DWC),
    ("occurrenceStatus", DWC),
    ("occurrenceRemarks", DWC),
    ("eventDate", DWC),
    ("year", DWC),
    ("month", DWC),
    ("day", DWC),
    ("countryCode", DWC),
    ("decimalLatitude", DWC),
    ("decimalLongitude", DWC),
    ("coordinateUncertaintyInMeters", DWC),
    ("scientificName", DWC),
    ("kingdom", DWC),
    ("phylum", DWC),
    ("class", DWC),
    ("order", DWC),
    ("family", DWC),
    ("genus", DWC),
    ("specificEpithet", DWC),
    ("infraspecificEpithet", DWC),
    ("taxonRank", DWC),
    ("taxonomicStatus", DWC),
    ("datasetKey", GBIF),
    ("publishingCountry", GBIF),
    ("lastInterpreted", GBIF),
    ("issue", GBIF),
    ("mediaType", GBIF),
    ("hasCoordinate", GBIF),
    ("hasGeospatialIssues", GBIF),
    ("taxonKey", GBIF),
    ("acceptedTaxonKey", GBIF),
    ("kingdomKey", GBIF),
    ("phylumKey", GBIF),
    ("classKey", GBIF),
    ("orderKey", GBIF),
    ("familyKey", GBIF),
    ("genusKey", GBIF),
    ("speciesKey", GBIF),
    ("species", GBIF),
    ("genericName", GBIF),
    ("acceptedScientificName", GBIF),
]
MULTIMEDIA_COLUMNS: list[tuple[str, str]] = [("gbifID", GBIF)] + [
    (name, DCTERMS)
    for name in [
        "type",
        "format",
        "identifier",
        "references",
        "title",
        "description",
        "source",
        "audience",
        "created",
        "creator",
        "contributor",
        "publisher",
        "license",
        "rightsHolder",
    ]
]
_LIST_TERMS = {"issue", "mediaType"}  # GBIF marks these delimitedBy=";"
ZIP_TIMESTAMP = (2024, 1, 1, 0, 0, 0)


def _file_xml(tag: str, row_type: str, location: str, columns, id_tag: str) -> str:
    fields = []
    for index, (name, namespace) in enumerate(columns):
        delimited = ' delimitedBy=";"' if name in _LIST_TERMS else ""
        fields.append(f'    <field index="{index}"{delimited} term="{namespace}{name}"/>')
    return "\n".join(
        [
            f'  <{tag} encoding="UTF-8" fieldsTerminatedBy="\\t" linesTerminatedBy="\\n" '
            f'fieldsEnclosedBy="" ignoreHeaderLines="1" rowType="{row_type}">',
            f"    <files>\n      <location>{location}</location>\n    </files>",
            f'    <{id_tag} index="0" />',
            *fields,
            f"  </{tag}>",
        ]
    )


def meta_xml() -> str:
    """The archive descriptor: occurrence core plus the Multimedia extension."""
    return "\n".join(
        [
            '<archive xmlns="http://rs.tdwg.org/dwc/text/" metadata="metadata.xml">',
            _file_xml("core", DWC + "Occurrence", "occurrence.txt", OCCURRENCE_COLUMNS, "id"),
            _file_xml(
                "extension", GBIF + "Multimedia", "multimedia.txt", MULTIMEDIA_COLUMNS, "coreid"
            ),
            "</archive>",
            "",
        ]
    )


def eml_xml(title: str, description: str) -> str:
    """Minimal EML metadata; the description states that every record is simulated."""
    return (
        '<?xml version="1.0" encoding="utf-8"?>\n'
        '<eml:eml xmlns:eml="eml://ecoinformatics.org/eml-2.1.1" packageId="geoloc-demo" '
        'system="geoloc" xml:lang="eng">\n'
        f"  <dataset>\n    <title>{escape(title)}</title>\n"
        f"    <abstract><para>{escape(description)}</para></abstract>\n"
        "    <intellectualRights><para>CC0 1.0: simulated data, no rights reserved.</para>"
        "</intellectualRights>\n  </dataset>\n</eml:eml>\n"
    )


def table_text(columns, rows: list[dict[str, str]]) -> str:
    """Header row plus one tab-separated line per record (no quoting; values must not contain
    tabs or newlines, which GBIF strips too)."""
    names = [name for name, _ in columns]
    lines = ["\t".join(names)]
    for row in rows:
        values = [row.get(name, "") for name in names]
        if any("\t" in v or "\n" in v for v in values):
            raise ValueError(f"tab or newline in record {row.get('gbifID')}")
        lines.append("\t".join(values))
    return "\n".join(lines) + "\n"


def write_archive(
    path: Path, occurrences: list[dict], multimedia: list[dict], title: str, description: str
) -> None:
    """Write the DwC-A zip at `path` (the caller makes the write atomic)."""
    members = [
        ("occurrence.txt", table_text(OCCURRENCE_COLUMNS, occurrences)),
        ("multimedia.txt", table_text(MULTIMEDIA_COLUMNS, multimedia)),
        ("metadata.xml", eml_xml(title, description)),
        ("citations.txt", f"{title}. Simulated by geoloc; cite the geoloc repository.\n"),
        ("rights.txt", "All records are simulated and released under CC0 1.0.\n"),
        ("meta.xml", meta_xml()),
    ]
    with zipfile.ZipFile(path, "w") as archive:
        for name, text in members:
            info = zipfile.ZipInfo(name, date_time=ZIP_TIMESTAMP)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.external_attr = 0o644 << 16
            archive.writestr(info, text.encode("utf-8"))
