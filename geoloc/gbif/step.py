"""The filter step: a GBIF occurrence archive -> one clean Parquet table per dataset.

The DVC stage `filter` and `geoloc filter` both call `run_filter` with a `FilterPaths`.
"""

from __future__ import annotations

import sys

from geoloc.gbif.filter import describe_report, filter_archive
from geoloc.layout import FilterPaths
from geoloc.params import Params


def run_filter(params: Params, paths: FilterPaths) -> dict:
    """Filter `paths.archive` with the rules of `data:` into `paths.out_dir`; prints the counts
    to stderr and returns the report (also written as out_dir/report.json)."""
    report = filter_archive(paths.archive, paths.out_dir, params.data)
    print(describe_report(report, paths.out_dir), file=sys.stderr)
    return report
