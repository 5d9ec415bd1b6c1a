"""Small HTML helpers shared by every report section: figures as fragments (plotly.js is
included once by the page, not per figure), headings, tables, notes."""

from __future__ import annotations

import hashlib
import html
import itertools
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

import pandas as pd

PALETTE = ("#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2")

_page_figures: ContextVar[Iterator[int] | None] = ContextVar("page_figures", default=None)


@contextmanager
def numbered_figures():
    """While building one page, figure ids are `fig-1`, `fig-2`, ... in build (= page) order:
    unique whatever the figures hold, and the same for the same results."""
    token = _page_figures.set(itertools.count(1))
    try:
        yield
    finally:
        _page_figures.reset(token)


def figure_html(fig) -> str:
    """A plotly figure as a <div> that uses the page's single inline copy of plotly.js.

    Plotly's default id is a random UUID; here it is the figure's number on the page (inside
    `numbered_figures`), or else a digest of the figure, so the same results give the same page
    byte for byte and `dvc repro` records one report hash per run."""
    counter = _page_figures.get()
    if counter is not None:
        div_id = f"fig-{next(counter)}"
    else:
        div_id = "fig-" + hashlib.sha256(fig.to_json().encode()).hexdigest()[:16]
    return fig.to_html(
        full_html=False, include_plotlyjs=False, config={"displaylogo": False}, div_id=div_id
    )


def section_html(title: str, *parts: str, anchor: str | None = None) -> str:
    anchor = anchor or title.lower().replace(" ", "-")
    return (
        f'<section id="{html.escape(anchor)}">\n<h2>{html.escape(title)}</h2>\n'
        + "\n".join(parts)
        + "\n</section>"
    )


def note_html(text: str) -> str:
    return f'<p class="note">{html.escape(text)}</p>'


def table_html(frame: pd.DataFrame, float_format: str = "{:.3f}") -> str:
    """A compact table; floats formatted, NaN shown as a dash."""

    def fmt(value):
        if isinstance(value, float):
            return "–" if value != value else float_format.format(value)
        return html.escape(str(value))

    head = "".join(f"<th>{html.escape(str(c))}</th>" for c in frame.columns)
    rows = "".join(
        "<tr>" + "".join(f"<td>{fmt(v)}</td>" for v in row) + "</tr>"
        for row in frame.itertuples(index=False)
    )
    return f'<table class="data"><thead><tr>{head}</tr></thead><tbody>{rows}</tbody></table>'
