"""The archive descriptor, meta.xml: which member holds the occurrence core and each extension,
how its text is delimited, and which column holds which term.

Columns are found by term URI, never by header name or position, as the DwC-A standard says.
Anything inconsistent (no occurrence core, a file the zip lacks, a bad index or encoding) raises
one GeolocError naming the archive.
"""

from __future__ import annotations

import codecs
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from geoloc.errors import GeolocError
from geoloc.gbif.terms import OCCURRENCE, TEXT_NAMESPACE

ID_TERM = "__id__"  # pseudo-term naming the <id>/<coreid> column of a file
_NS = "{" + TEXT_NAMESPACE + "}"


@dataclass(frozen=True)
class FileSpec:
    """One data file of the archive as meta.xml describes it."""

    location: str
    row_type: str
    columns: dict[str, int]  # term URI (or ID_TERM) -> column index
    delimiter: str = "\t"
    quote: str = ""
    encoding: str = "UTF-8"
    header_lines: int = 1

    def has(self, term: str) -> bool:
        return term in self.columns


def is_unsafe_member(name: str) -> bool:
    """True for a member name that would escape an extraction folder (absolute, drive, `..`)."""
    normal = name.replace("\\", "/")
    path = PurePosixPath(normal)
    return normal.startswith("/") or (len(normal) > 1 and normal[1] == ":") or ".." in path.parts


def parse_descriptor(
    xml: bytes, members: set[str], source: Path
) -> tuple[FileSpec, dict[str, FileSpec]]:
    """The occurrence core and the extensions (by row type) of the archive at `source`, whose
    zip holds `members`."""
    try:
        root = ET.fromstring(xml)
    except ET.ParseError as err:
        raise GeolocError(f"{source}: meta.xml is not valid XML: {err}") from None
    core = root.find(f"{_NS}core")
    if core is None:
        core = root.find("core")
    if core is None or core.get("rowType") != OCCURRENCE:
        found = core.get("rowType") if core is not None else "none"
        raise GeolocError(
            f"{source}: no occurrence core in meta.xml (core rowType is {found}, "
            f"expected {OCCURRENCE}); use a GBIF occurrence download"
        )
    extensions: dict[str, FileSpec] = {}
    for element in list(root.iter(f"{_NS}extension")) + list(root.iter("extension")):
        spec = _file_spec(element, "coreid", members, source)
        extensions.setdefault(spec.row_type, spec)
    return _file_spec(core, "id", members, source), extensions


def _unescape(value: str | None, default: str) -> str:
    if value is None:
        return default
    return value.replace("\\t", "\t").replace("\\n", "\n").replace("\\r", "\r")


def _location(element: ET.Element, members: set[str], source: Path) -> str:
    locations = [
        loc.text.strip()
        for files in _children(element, "files")
        for loc in files
        if (loc.text or "").strip()
    ]
    if not locations:
        raise GeolocError(f"{source}: meta.xml names no file for {element.get('rowType', '')}")
    location = locations[0]
    if is_unsafe_member(location):
        raise GeolocError(f"{source}: meta.xml points outside the archive: {location!r}")
    if location not in members:
        raise GeolocError(f"{source}: meta.xml names {location} but the zip has no such file")
    return location


def _children(element: ET.Element, tag: str) -> list[ET.Element]:
    """Children named `tag`, with or without the DwC text namespace."""
    return element.findall(f"{_NS}{tag}") + element.findall(tag)


def _file_spec(element: ET.Element, id_tag: str, members: set[str], source: Path) -> FileSpec:
    location = _location(element, members, source)
    columns: dict[str, int] = {}
    try:
        for node in _children(element, "field"):
            if node.get("index") is not None and node.get("term"):
                columns.setdefault(node.get("term"), int(node.get("index")))
        for node in _children(element, id_tag):
            columns[ID_TERM] = int(node.get("index", "0"))
        header_lines = int(element.get("ignoreHeaderLines", "0"))
    except ValueError as err:
        raise GeolocError(f"{source}: meta.xml has a non-integer index: {err}") from None
    encoding = element.get("encoding") or "UTF-8"
    try:
        codecs.lookup(encoding)
    except LookupError:
        raise GeolocError(f"{source}: unknown encoding {encoding!r} in meta.xml") from None
    delimiter = _unescape(element.get("fieldsTerminatedBy"), "\t")
    if len(delimiter) != 1:
        raise GeolocError(f"{source}: unsupported field separator {delimiter!r}")
    return FileSpec(
        location=location,
        row_type=element.get("rowType", ""),
        columns=columns,
        delimiter=delimiter,
        quote=_unescape(element.get("fieldsEnclosedBy"), ""),
        encoding=encoding,
        header_lines=header_lines,
    )
