"""Report figure of the training curves that dvclive wrote for the `train` stage
(results/train/live/plots/metrics/**/*.tsv: columns timestamp, step, <metric>)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from geoloc.layout import ReportPaths
from geoloc.report.html import PALETTE, figure_html, note_html, section_html


def load_curves(train_dir: Path) -> dict[str, pd.DataFrame]:
    """Metric name (path under metrics/, e.g. `train/loss`) -> (step, value) table."""
    metrics_dir = Path(train_dir) / "live" / "plots" / "metrics"
    curves: dict[str, pd.DataFrame] = {}
    for tsv in sorted(metrics_dir.glob("**/*.tsv")):
        table = pd.read_csv(tsv, sep="\t")
        value = [c for c in table.columns if c not in ("timestamp", "step")]
        if "step" not in table or len(value) != 1 or table.empty:
            continue
        name = tsv.relative_to(metrics_dir).with_suffix("").as_posix()
        curves[name] = table[["step", value[0]]].rename(columns={value[0]: "value"})
    return curves


ROW_PX, GAP_PX, MARGIN_PX = 260, 110, (50, 60)  # panel row, gap between rows, top/bottom
CURVE_POINTS = 2000  # points per curve drawn, at most (every n-th step beyond)


def training_curves_figure(curves: dict[str, pd.DataFrame]) -> go.Figure:
    """One panel per metric, three a row, rows far enough apart that a panel's x-axis title
    clears the next row's panel titles."""
    names = sorted(curves)
    cols = min(3, len(names))
    rows = -(-len(names) // cols)
    plot_px = rows * ROW_PX + (rows - 1) * GAP_PX
    fig = make_subplots(
        rows=rows, cols=cols, subplot_titles=names, vertical_spacing=GAP_PX / plot_px
    )
    for j, name in enumerate(names):
        curve = curves[name].iloc[:: -(-len(curves[name]) // CURVE_POINTS)]
        fig.add_trace(
            go.Scatter(
                x=curve["step"],
                y=curve["value"],
                mode="lines+markers",
                marker={"size": 4},
                line={"color": PALETTE[0]},
                name=name,
                showlegend=False,
            ),
            row=j // cols + 1,
            col=j % cols + 1,
        )
    fig.update_xaxes(title_text="epoch")
    fig.update_layout(
        height=plot_px + sum(MARGIN_PX), margin={"t": MARGIN_PX[0], "b": MARGIN_PX[1]}
    )
    return fig


def training_section(paths: ReportPaths, params) -> str | None:
    """Training curves of the location encoder; None before any training ran."""
    curves = load_curves(paths.train)
    if not curves:
        return None
    return section_html(
        "Training curves",
        note_html(
            "Contrastive training of the location encoder on every dataset's records, per "
            "epoch (dvclive logs)."
        ),
        figure_html(training_curves_figure(curves)),
        anchor="training",
    )
