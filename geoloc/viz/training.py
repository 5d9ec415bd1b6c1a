"""Report figure of the training curves that dvclive wrote for train@<ds>
(results/<ds>/train/live/plots/metrics/**/*.tsv: columns timestamp, step, <metric>)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from geoloc.viz.html import figure_html, note_html, section_html
from geoloc.viz.sdm import PALETTE


def load_curves(results_dir: Path) -> dict[str, dict[str, pd.DataFrame]]:
    """dataset -> metric name (path under metrics/, e.g. `train/loss`) -> (step, value) table."""
    curves: dict[str, dict[str, pd.DataFrame]] = {}
    for tsv in sorted(results_dir.glob("*/train/live/plots/metrics/**/*.tsv")):
        metrics_dir = next(p for p in tsv.parents if p.name == "metrics")
        dataset = metrics_dir.parents[3].name
        name = tsv.relative_to(metrics_dir).with_suffix("").as_posix()
        table = pd.read_csv(tsv, sep="\t")
        value = [c for c in table.columns if c not in ("timestamp", "step")]
        if "step" not in table or len(value) != 1 or table.empty:
            continue
        curves.setdefault(dataset, {})[name] = table[["step", value[0]]].rename(
            columns={value[0]: "value"}
        )
    return curves


def training_curves_figure(curves: dict[str, dict[str, pd.DataFrame]]) -> go.Figure:
    """One panel per metric, one line per dataset."""
    names = sorted({name for per in curves.values() for name in per})
    cols = min(3, len(names))
    rows = -(-len(names) // cols)
    fig = make_subplots(rows=rows, cols=cols, subplot_titles=names, vertical_spacing=0.12)
    for i, (dataset, per) in enumerate(sorted(curves.items())):
        first = next(name for name in names if name in per)
        for j, name in enumerate(names):
            if name not in per:
                continue
            fig.add_trace(
                go.Scatter(
                    x=per[name]["step"],
                    y=per[name]["value"],
                    mode="lines+markers",
                    marker={"size": 4},
                    line={"color": PALETTE[i % len(PALETTE)]},
                    name=dataset,
                    legendgroup=dataset,
                    showlegend=name == first,
                ),
                row=j // cols + 1,
                col=j % cols + 1,
            )
    fig.update_xaxes(title_text="epoch")
    fig.update_layout(height=300 * rows, margin={"t": 40})
    return fig


def training_section(results_dir: Path, params) -> str | None:
    """Training curves of the location encoders; None before any training ran."""
    curves = load_curves(Path(results_dir))
    if not curves:
        return None
    return section_html(
        "Training curves",
        note_html("Contrastive training of the location encoder, per epoch (dvclive logs)."),
        figure_html(training_curves_figure(curves)),
        anchor="training",
    )
