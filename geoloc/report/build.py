"""The self-contained HTML report (results/report.html): one page, plotly.js inline once, opens
offline. Each section is a builder `fn(paths: ReportPaths, params) -> str | None` returning an HTML
fragment, or None when its inputs are absent (that section is then left out). A module adds its
section with one line in SECTIONS ("module:function", imported only when the report is built)."""

from __future__ import annotations

import html
import importlib
import os
from collections.abc import Callable
from pathlib import Path

from geoloc.layout import ReportPaths
from geoloc.report.html import numbered_figures
from geoloc.report.provenance import provenance_html

SECTIONS: list[str] = [
    "geoloc.report.sdm_section:sdm_section",
    "geoloc.report.training_section:training_section",
    "geoloc.report.identify_section:identify_section",
    "geoloc.report.reid_section:reid_section",
]

STYLE = """
body { font-family: system-ui, sans-serif; margin: 2rem auto; max-width: 1200px; color: #222; }
h1 { margin-bottom: 0.2rem; } h2 { border-bottom: 1px solid #ddd; padding-bottom: 0.2rem; }
.note { color: #555; max-width: 60rem; }
table.data { border-collapse: collapse; margin: 0.5rem 0 1rem; font-size: 0.9rem; }
table.data td, table.data th { border: 1px solid #ddd; padding: 0.2rem 0.5rem; text-align: right; }
table.data th { background: #f4f4f4; }
table.facts { font-size: 0.9rem; color: #444; margin-bottom: 1rem; }
table.facts th { text-align: left; padding-right: 1rem; font-weight: 600; }
"""


def builders() -> list[Callable]:
    """The section builder functions, in page order."""
    out = []
    for target in SECTIONS:
        module, attr = target.split(":")
        out.append(getattr(importlib.import_module(module), attr))
    return out


def render_report(
    paths: ReportPaths, params, sections: list[Callable] | None = None
) -> tuple[str, list[str]]:
    """The whole page, and the names of the sections left out because their inputs are absent."""
    from plotly.offline import get_plotlyjs

    parts, absent = [], []
    with numbered_figures():
        for build in builders() if sections is None else sections:
            fragment = build(paths, params)
            if fragment is None:
                absent.append(build.__name__.removesuffix("_section").replace("_", " "))
            else:
                parts.append(fragment)
    if not parts:
        parts.append("<p>No results yet: run <code>dvc repro</code> first.</p>")
    footer = f'<p class="note">Sections without results: {html.escape(", ".join(absent))}.</p>'
    inputs = (paths.train, paths.evaluate, paths.identifier, paths.reid, paths.cluster)
    source = Path(os.path.commonpath([str(p) for p in inputs]))
    page = (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        "<title>geoloc report</title>"
        f"<style>{STYLE}</style>"
        f'<script type="text/javascript">{get_plotlyjs()}</script></head>\n<body>\n'
        f"<h1>geoloc report</h1>{provenance_html(paths, params, source)}\n"
        + "\n".join(parts)
        + ("\n" + footer if absent else "")
        + "\n</body></html>\n"
    )
    return page, absent
