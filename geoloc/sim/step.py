"""The demo step: params -> the built-in virtual-species archive, its photos and its truth.

The DVC stage `demo` and `geoloc demo` both call `run_demo` with a `DemoPaths`.
"""

from __future__ import annotations

from dataclasses import asdict

from geoloc.layout import DemoPaths
from geoloc.params import Params
from geoloc.sim.demo import build_demo


def run_demo(params: Params, paths: DemoPaths) -> dict:
    """Simulate the archive of `demo:` with one species group per dataset of `data.datasets`.

    multimedia.txt refers to the photos by `paths.images` as given (relative paths stay relative
    to the working directory). Returns what was written: rows meant to survive the filter per
    dataset (`clean`), noise rows per kind, species, photos and truth rows.
    """
    summary = build_demo(
        params.demo, params.data.datasets, paths.archive, paths.truth, paths.images
    )
    return {"rows": summary.rows, **asdict(summary)}
