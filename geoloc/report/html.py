"""Small HTML helpers shared by every report section: figures as fragments (plotly.js is
included once by the page, not per figure), headings, tables, notes."""

from __future__ import annotations

import hashlib
import html

import pandas as pd


def figure_html(fig) -> str:
    """A plotly figure as a <div> that uses the page's single inline copy of plotly.js.

    The div id is a digest of the figure (plotly's default is a random UUID), so the same results
    give the same page byte for byte and `dvc repro` records one report hash per run."""
    spec = fig.to_json()
    div_id = "fig-" + hashlib.sha256(spec.encode()).hexdigest()[:16]
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
