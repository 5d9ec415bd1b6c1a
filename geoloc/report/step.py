"""The report step (stage `report`, command `geoloc report`): one self-contained HTML page of
every step's results, read where geoloc.layout.Layout puts them."""

from __future__ import annotations

from geoloc.layout import ReportPaths
from geoloc.params import Params
from geoloc.report.build import render_report


def run_report(params: Params, paths: ReportPaths) -> dict:
    """Write the page to `paths.out` atomically; return the sections built and left out."""
    from geoloc.io import atomic_path

    page, absent = render_report(paths, params)
    with atomic_path(paths.out) as tmp:
        tmp.write_text(page, encoding="utf-8")
    return {"out": str(paths.out), "absent": absent}
