"""The self-contained HTML report (results/report.html): one page, plotly.js inline once, opens
offline. Each section is a builder `fn(results_dir: Path, params) -> str | None` returning an HTML
fragment, or None when its inputs are absent (that section is then left out). A module adds its
section with one line in SECTIONS ("module:function", imported only when the report is built)."""

from __future__ import annotations

import html
import importlib
from collections.abc import Callable
from pathlib import Path

from geoloc.io import atomic_path

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
"""


def builders() -> list[Callable]:
    """The section builder functions, in page order."""
    out = []
    for target in SECTIONS:
        module, attr = target.split(":")
        out.append(getattr(importlib.import_module(module), attr))
    return out


def render_report(results_dir: str | Path, params, sections: list[Callable] | None = None) -> str:
    """The whole page as a string; sections whose inputs are absent are skipped and listed."""
    from plotly.offline import get_plotlyjs

    results_dir = Path(results_dir)
    parts, absent = [], []
    for build in builders() if sections is None else sections:
        fragment = build(results_dir, params)
        if fragment is None:
            absent.append(build.__name__.removesuffix("_section").replace("_", " "))
        else:
            parts.append(fragment)
    if not parts:
        parts.append("<p>No results yet: run <code>dvc repro</code> first.</p>")
    footer = f'<p class="note">Sections without results: {html.escape(", ".join(absent))}.</p>'
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        "<title>geoloc report</title>"
        f"<style>{STYLE}</style>"
        f'<script type="text/javascript">{get_plotlyjs()}</script></head>\n<body>\n'
        f'<h1>geoloc report</h1><p class="note">Built from {html.escape(str(results_dir))}.'
        "</p>\n" + "\n".join(parts) + ("\n" + footer if absent else "") + "\n</body></html>\n"
    )


def build_report(results_dir: str | Path, params, out_path: str | Path) -> Path:
    """Render and write the report atomically; returns its path."""
    page = render_report(results_dir, params)
    out_path = Path(out_path)
    with atomic_path(out_path) as tmp:
        tmp.write_text(page, encoding="utf-8")
    return out_path
