"""The demo's records as a GBIF-format Darwin Core Archive: GBIF's occurrence and multimedia
columns (geoloc.gbif.terms), EML metadata and a citation saying the data are simulated.

The zip is byte-for-byte reproducible (geoloc.gbif.writer).
"""

from __future__ import annotations

from pathlib import Path

from geoloc.gbif.terms import MULTIMEDIA, MULTIMEDIA_COLUMNS, OCCURRENCE, OCCURRENCE_COLUMNS
from geoloc.gbif.writer import ArchiveWriter, DataFile

OCCURRENCE_FILE = DataFile("occurrence.txt", OCCURRENCE, OCCURRENCE_COLUMNS)
MULTIMEDIA_FILE = DataFile("multimedia.txt", MULTIMEDIA, MULTIMEDIA_COLUMNS)
RIGHTS = "CC0 1.0: simulated data, no rights reserved."


def write_archive(
    path: Path, occurrences: list[dict], multimedia: list[dict], title: str, description: str
) -> None:
    """Write the demo's DwC-A zip at `path` (atomically)."""
    with ArchiveWriter(path) as archive:
        archive.add_table(OCCURRENCE_FILE, occurrences)
        archive.add_table(MULTIMEDIA_FILE, multimedia)
        archive.add_metadata("geoloc-demo", title, description, RIGHTS)
        archive.add_text(
            "citations.txt", f"{title}. Simulated by geoloc; cite the geoloc repository.\n"
        )
        archive.add_text("rights.txt", "All records are simulated and released under CC0 1.0.\n")
        archive.write_descriptor()
