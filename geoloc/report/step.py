"""The report step (stage `report`, command `geoloc report`): one self-contained HTML page of
every step's results, read where geoloc.layout.Layout puts them."""

from __future__ import annotations

from geoloc.io import write_json
from geoloc.layout import ReportPaths
from geoloc.params import Params
from geoloc.report.build import render_report
from geoloc.report.headline import headlines


def run_report(params: Params, paths: ReportPaths) -> dict:
    """Write the page to `paths.out` atomically; return the sections built and left out."""
    from geoloc.io import atomic_path

    page, absent = render_report(paths, params)
    with atomic_path(paths.out) as tmp:
        tmp.write_text(page, encoding="utf-8")
    return {"out": str(paths.out), "absent": absent}


def run_summary(params: Params, paths: ReportPaths) -> dict[str, dict]:
    """Write one headline file per block (`<paths.headline>/<block>.json`, holding
    `{block: {...}}`) and remove the files of blocks that no longer have results."""
    blocks = headlines(paths, params.dataset_names())
    paths.headline.mkdir(parents=True, exist_ok=True)
    for stale in paths.headline.glob("*.json"):
        if stale.stem not in blocks:
            stale.unlink()
    for name, block in blocks.items():
        write_json(paths.headline / f"{name}.json", {name: block})
    return blocks
