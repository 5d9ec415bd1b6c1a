"""Writing a Darwin Core Archive: tab-separated data files, EML metadata and the meta.xml that
describes them, in the layout of a GBIF download.

Used by the demo simulator, the tests' small archives and the filter benchmark's gigabyte ones,
so every archive geoloc makes is described the same way. The zip is byte-for-byte reproducible
(members in the order written, one fixed timestamp) and appears complete or not at all.
"""

from __future__ import annotations

import contextlib
import zipfile
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from xml.sax.saxutils import escape

from geoloc.gbif.terms import LIST_TERMS, TEXT_NAMESPACE, Column
from geoloc.io import atomic_path

ZIP_TIMESTAMP = (2024, 1, 1, 0, 0, 0)
METADATA = "metadata.xml"
_WRITE_BLOCK = 1 << 20  # characters buffered per write when streaming a large table


@dataclass(frozen=True)
class DataFile:
    """One data file: its member name, row type and columns, with or without a header line."""

    location: str
    row_type: str
    columns: Sequence[Column]
    header: bool = True


Row = Mapping[str, str] | str  # values by column name, or ready-made tab-separated line(s)


def file_xml(spec: DataFile, tag: str) -> str:
    """The <core> or <extension> element describing `spec`; columns by term URI."""
    id_tag = "id" if tag == "core" else "coreid"
    fields = []
    for index, (_, uri) in enumerate(spec.columns):
        delimited = ' delimitedBy=";"' if uri in LIST_TERMS else ""
        fields.append(f'    <field index="{index}"{delimited} term="{uri}"/>')
    return "\n".join(
        [
            f'  <{tag} encoding="UTF-8" fieldsTerminatedBy="\\t" linesTerminatedBy="\\n" '
            f'fieldsEnclosedBy="" ignoreHeaderLines="{int(spec.header)}" '
            f'rowType="{spec.row_type}">',
            f"    <files>\n      <location>{spec.location}</location>\n    </files>",
            f'    <{id_tag} index="0" />',
            *fields,
            f"  </{tag}>",
        ]
    )


def descriptor_xml(
    core: DataFile, extensions: Sequence[DataFile] = (), metadata: str | None = METADATA
) -> str:
    """meta.xml for an occurrence core and its extensions (`metadata`: the EML member)."""
    opening = f'<archive xmlns="{TEXT_NAMESPACE}"'
    opening += f' metadata="{metadata}">' if metadata else ">"
    parts = [file_xml(core, "core"), *(file_xml(spec, "extension") for spec in extensions)]
    return "\n".join([opening, *parts, "</archive>", ""])


def eml_xml(package_id: str, title: str, description: str, rights: str) -> str:
    """Minimal EML metadata: a title, an abstract and the rights."""
    return (
        '<?xml version="1.0" encoding="utf-8"?>\n'
        f'<eml:eml xmlns:eml="eml://ecoinformatics.org/eml-2.1.1" packageId="{escape(package_id)}" '
        'system="geoloc" xml:lang="eng">\n'
        f"  <dataset>\n    <title>{escape(title)}</title>\n"
        f"    <abstract><para>{escape(description)}</para></abstract>\n"
        f"    <intellectualRights><para>{escape(rights)}</para>"
        "</intellectualRights>\n  </dataset>\n</eml:eml>\n"
    )


def table_lines(spec: DataFile, rows: Iterable[Row]) -> Iterator[str]:
    """The header line (when `spec.header`) and one line per row, newline-terminated.

    Values must not contain tabs or newlines (GBIF strips them too); a str row is written as is,
    which lets callers write pre-rendered (or deliberately malformed) lines.
    """
    names = [name for name, _ in spec.columns]
    if spec.header:
        yield "\t".join(names) + "\n"
    for row in rows:
        if isinstance(row, str):
            yield row + "\n"
            continue
        values = [row.get(name, "") for name in names]
        if any("\t" in v or "\n" in v for v in values):
            raise ValueError(f"tab or newline in record {row.get('gbifID')}")
        yield "\t".join(values) + "\n"


class ArchiveWriter:
    """A DwC-A zip written member by member; the first table added is the core.

    `write_descriptor()` adds meta.xml describing the tables added (call it last, as GBIF lists
    it last). The zip is written under a temporary name and renamed into place on success.
    """

    def __init__(self, path: str | Path, compression: int = zipfile.ZIP_DEFLATED):
        self.compression = compression
        self._files: list[DataFile] = []
        self._metadata: str | None = None
        self._stack = contextlib.ExitStack()
        tmp = self._stack.enter_context(atomic_path(path))
        self._zip = self._stack.enter_context(zipfile.ZipFile(tmp, "w"))

    def __enter__(self) -> ArchiveWriter:
        return self

    def __exit__(self, *exc) -> bool | None:
        return self._stack.__exit__(*exc)

    def _info(self, name: str) -> zipfile.ZipInfo:
        info = zipfile.ZipInfo(name, date_time=ZIP_TIMESTAMP)
        info.compress_type = self.compression
        info.external_attr = 0o644 << 16
        return info

    def add_text(self, name: str, text: str) -> None:
        """A member holding `text` (UTF-8)."""
        self._zip.writestr(self._info(name), text.encode("utf-8"))

    def add_table(self, spec: DataFile, rows: Iterable[Row], *, large: bool = False) -> None:
        """A data file; `large` streams it (ZIP64, bounded memory) instead of writing it whole."""
        self._files.append(spec)
        lines = table_lines(spec, rows)
        if not large:
            self.add_text(spec.location, "".join(lines))
            return
        with self._zip.open(self._info(spec.location), "w", force_zip64=True) as member:
            block: list[str] = []
            size = 0
            for line in lines:
                block.append(line)
                size += len(line)
                if size >= _WRITE_BLOCK:
                    member.write("".join(block).encode("utf-8"))
                    block, size = [], 0
            member.write("".join(block).encode("utf-8"))

    def add_metadata(self, package_id: str, title: str, description: str, rights: str) -> None:
        """The EML member (metadata.xml), which meta.xml then points to."""
        self.add_text(METADATA, eml_xml(package_id, title, description, rights))
        self._metadata = METADATA

    def write_descriptor(self) -> None:
        """meta.xml describing the tables added so far."""
        core, *extensions = self._files
        self.add_text("meta.xml", descriptor_xml(core, extensions, self._metadata))
