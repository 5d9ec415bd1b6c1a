"""The filter step: a GBIF occurrence archive -> one clean Parquet table per dataset.

The DVC stage `filter` and `geoloc filter` both call `run_filter` with a `FilterPaths`.
"""

from __future__ import annotations

from geoloc.gbif.filter import filter_archive
from geoloc.layout import FilterPaths
from geoloc.params import Params


def run_filter(params: Params, paths: FilterPaths) -> dict:
    """Filter `paths.archive` with the rules of `data:` into `paths.out_dir`; returns the report
    (also written as out_dir/report.json)."""
    return filter_archive(paths.archive, paths.out_dir, params.data)
