"""GBIF Darwin Core Archives: reading (descriptor, streamed members), writing, and the filter."""

from geoloc.gbif.descriptor import ID_TERM, FileSpec
from geoloc.gbif.dwca import Archive, ReadStats, require_terms
from geoloc.gbif.filter import OUTPUT_SCHEMA, RULES, describe_rule, filter_archive
from geoloc.gbif.step import run_filter
from geoloc.gbif.writer import ArchiveWriter, DataFile, descriptor_xml

__all__ = [
    "ID_TERM",
    "OUTPUT_SCHEMA",
    "RULES",
    "Archive",
    "ArchiveWriter",
    "DataFile",
    "FileSpec",
    "ReadStats",
    "describe_rule",
    "descriptor_xml",
    "filter_archive",
    "require_terms",
    "run_filter",
]
