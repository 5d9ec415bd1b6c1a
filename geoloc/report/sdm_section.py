"""Report figures of the SDM evaluation (results/evaluate/<ds>/): AUC by covariate set and dataset,
trained encoder vs best baseline per species, predicted maps next to the truth, embedding map.

Maps are drawn as plain x/y scatter (lon, lat with the aspect of mid-latitudes) rather than
plotly geo maps, whose base layers are fetched from a CDN and would not open offline.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from geoloc.layout import ReportPaths
from geoloc.report.html import figure_html, note_html, section_html, table_html
from geoloc.report.results import dataset_folders

PALETTE = ("#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2")


@dataclass
class SdmResults:
    """What evaluate@<ds> wrote for one dataset (maps/grid may be empty tables)."""

    dataset: str
    per_species: pd.DataFrame
    summary: dict
    maps: pd.DataFrame
    embedding_grid: pd.DataFrame

    @property
    def sets(self) -> list[str]:
        return list(self.summary["sets"])

    @property
    def has_truth(self) -> bool:
        return any("truth_auc" in stats for stats in self.summary["sets"].values())


def load_sdm_results(evaluate_dir: Path, datasets: list[str] | None = None) -> list[SdmResults]:
    """Every dataset folder under `evaluate_dir` with an SDM summary (`datasets` first)."""
    out = []
    for ds, folder in dataset_folders(evaluate_dir, "summary.json", datasets):
        if not (folder / "per_species.csv").is_file():
            continue
        out.append(
            SdmResults(
                dataset=ds,
                per_species=pd.read_csv(folder / "per_species.csv"),
                summary=json.loads((folder / "summary.json").read_text()),
                maps=_optional_parquet(folder / "maps.parquet"),
                embedding_grid=_optional_parquet(folder / "embedding_grid.parquet"),
            )
        )
    return out


def _optional_parquet(path: Path) -> pd.DataFrame:
    return pd.read_parquet(path) if path.is_file() else pd.DataFrame()


def auc_by_set_figure(results: list[SdmResults], prefix: str = "auc") -> go.Figure:
    """Per-species AUC as box + points for every covariate set, one colour per dataset, with the
    mean and its 95% bootstrap CI as a diamond with error bars."""
    fig = go.Figure()
    for i, res in enumerate(results):
        evaluated = res.per_species[~res.per_species["skipped"].astype(bool)]
        color = PALETTE[i % len(PALETTE)]
        sets = [s for s in res.sets if f"{prefix}_{s}" in evaluated]
        long = evaluated.melt(
            id_vars=["species"], value_vars=[f"{prefix}_{s}" for s in sets], value_name="auc"
        )
        long["set"] = long["variable"].str.removeprefix(f"{prefix}_")
        fig.add_trace(
            go.Box(
                x=long["set"],
                y=long["auc"],
                name=res.dataset,
                legendgroup=res.dataset,
                marker_color=color,
                boxpoints="all",
                jitter=0.4,
                pointpos=0,
                text=long["species"],
                hovertemplate="%{text}<br>%{x}: %{y:.3f}<extra>" + res.dataset + "</extra>",
            )
        )
        stats = [res.summary["sets"][s][prefix] for s in sets]
        fig.add_trace(
            go.Scatter(
                x=sets,
                y=[st["mean"] for st in stats],
                error_y={
                    "type": "data",
                    "symmetric": False,
                    "array": [_gap(st["ci_high"], st["mean"]) for st in stats],
                    "arrayminus": [_gap(st["mean"], st["ci_low"]) for st in stats],
                },
                mode="markers",
                marker={"symbol": "diamond", "size": 11, "color": color, "line": {"width": 1}},
                name=f"{res.dataset} mean (95% CI)",
                legendgroup=res.dataset,
                offsetgroup=res.dataset,
                hovertemplate="mean %{y:.3f}<extra>" + res.dataset + "</extra>",
            )
        )
    label = "truth AUC (true range)" if prefix == "truth_auc" else "AUC (held-out blocks)"
    fig.update_layout(
        boxmode="group",
        scattermode="group",
        yaxis_title=label,
        xaxis_title="covariate set",
        height=460,
        margin={"t": 30},
    )
    return fig


def _gap(a, b) -> float:
    return float(a - b) if a is not None and b is not None else 0.0


def best_baseline(res: SdmResults, prefix: str = "auc") -> str | None:
    """The non-`trained` set with the highest mean (the bar the trained encoder must clear)."""
    means = {
        s: st[prefix]["mean"]
        for s, st in res.summary["sets"].items()
        if s != "trained" and prefix in st and st[prefix]["mean"] is not None
    }
    return max(means, key=means.get) if means else None


def trained_vs_baseline_figure(results: list[SdmResults], prefix: str = "auc") -> go.Figure | None:
    """Each species as a point: best baseline AUC (x) vs trained AUC (y); above the line = the
    trained encoder wins for that species."""
    fig = go.Figure()
    for i, res in enumerate(results):
        base = best_baseline(res, prefix)
        if base is None or f"{prefix}_trained" not in res.per_species:
            continue
        rows = res.per_species[~res.per_species["skipped"].astype(bool)]
        fig.add_trace(
            go.Scatter(
                x=rows[f"{prefix}_{base}"],
                y=rows[f"{prefix}_trained"],
                mode="markers",
                marker={"size": 9, "color": PALETTE[i % len(PALETTE)]},
                name=f"{res.dataset} (vs {base})",
                text=rows["species"],
                hovertemplate="%{text}<br>" + base + " %{x:.3f}<br>trained %{y:.3f}<extra></extra>",
            )
        )
    if not fig.data:
        return None
    fig.add_shape(type="line", x0=0, y0=0, x1=1, y1=1, line={"dash": "dot", "color": "#888"})
    fig.update_layout(
        xaxis={"title": f"best baseline {prefix.replace('_', ' ')}", "range": [0.3, 1.0]},
        yaxis={"title": f"trained {prefix.replace('_', ' ')}", "range": [0.3, 1.0]},
        height=460,
        width=520,
        margin={"t": 30},
    )
    return fig


def distribution_maps_figure(res: SdmResults) -> go.Figure | None:
    """Rows: mapped species; columns: truth (when known), trained, best baseline."""
    if res.maps.empty:
        return None
    base = best_baseline(res, "truth_auc" if res.has_truth else "auc")
    layers = [
        layer
        for layer in ("truth", "trained", base)
        if layer is not None and layer in set(res.maps["layer"])
    ]
    species = list(dict.fromkeys(res.maps["species_key"]))
    names = res.maps.drop_duplicates("species_key").set_index("species_key")["species"]
    fig = make_subplots(
        rows=len(species),
        cols=len(layers),
        subplot_titles=[f"{names[k]} — {layer}" for k in species for layer in layers],
        horizontal_spacing=0.02,
        vertical_spacing=0.06,
    )
    for r, key in enumerate(species, start=1):
        for c, layer in enumerate(layers, start=1):
            part = res.maps[(res.maps["species_key"] == key) & (res.maps["layer"] == layer)]
            values = part["value"].to_numpy()
            span = values.max() - values.min()
            fig.add_trace(
                go.Scattergl(
                    x=part["lon"],
                    y=part["lat"],
                    mode="markers",
                    marker={
                        "size": 4,
                        "symbol": "square",
                        "color": (values - values.min()) / (span if span > 0 else 1),
                        "colorscale": "Viridis",
                        "cmin": 0,
                        "cmax": 1,
                    },
                    showlegend=False,
                    hoverinfo="skip",
                ),
                row=r,
                col=c,
            )
    _map_axes(fig)
    fig.update_layout(height=330 * len(species), margin={"t": 40, "l": 10, "r": 10})
    return fig


def embedding_map_figure(res: SdmResults) -> go.Figure | None:
    """The trained encoder's embedding on the grid, its first three principal components as RGB:
    similar colours = places the encoder considers ecologically alike."""
    grid = res.embedding_grid
    if grid.empty:
        return None
    colours = [
        f"rgb({int(r * 255)},{int(g * 255)},{int(b * 255)})"
        for r, g, b in grid[["r", "g", "b"]].to_numpy()
    ]
    fig = go.Figure(
        go.Scattergl(
            x=grid["lon"],
            y=grid["lat"],
            mode="markers",
            marker={"size": 5, "symbol": "square", "color": colours},
            hoverinfo="skip",
        )
    )
    _map_axes(fig)
    fig.update_layout(height=520, width=560, margin={"t": 20}, title=None)
    return fig


def _map_axes(fig: go.Figure) -> None:
    """lon/lat axes with the aspect of 46° N (1° lon is cos 46° of 1° lat), no ticks."""
    fig.update_xaxes(showticklabels=False, showgrid=False, zeroline=False)
    fig.update_yaxes(showticklabels=False, showgrid=False, zeroline=False)
    for axis in fig.layout:
        if axis.startswith("yaxis"):
            suffix = axis.removeprefix("yaxis")
            fig.layout[axis].update(scaleanchor=f"x{suffix}", scaleratio=1 / np.cos(np.radians(46)))


def summary_table(res: SdmResults) -> pd.DataFrame:
    """Per set: mean, median, CI of AUC (and truth AUC); paired delta of the reference vs it."""
    rows = []
    reference = res.summary.get("reference")
    for name, stats in res.summary["sets"].items():
        row = {"set": name}
        for prefix, label in (("auc", "AUC"), ("truth_auc", "truth AUC")):
            if prefix not in stats:
                continue
            st = stats[prefix]
            row[f"{label} mean"] = _num(st["mean"])
            row[f"{label} 95% CI"] = _ci(st)
            delta = res.summary["deltas"].get(f"{reference}_{name}", {}).get(prefix)
            if delta is not None:
                row[f"{label}: {reference} − set"] = (
                    f"{_num(delta['mean']):+.3f} [{_ci(delta)}] {delta['wins']}W/{delta['losses']}L"
                )
        rows.append(row)
    return pd.DataFrame(rows)


def _num(value) -> float:
    return float("nan") if value is None else float(value)


def _ci(stats: dict) -> str:
    return f"{_num(stats['ci_low']):.3f}–{_num(stats['ci_high']):.3f}"


def sdm_section(paths: ReportPaths, params) -> str | None:
    """The SDM part of the report; None when no dataset has been evaluated."""
    datasets = params.dataset_names() if params is not None else None
    results = load_sdm_results(paths.evaluate, datasets)
    if not results:
        return None
    parts = [
        note_html(
            "Presence-only SDMs per species: target-group background, spatial block cross-"
            "validation, AUC on held-out blocks (chance = 0.5). Truth AUC scores the same models "
            "against the true range of the demo's virtual species. Diamonds: mean over species "
            "with 95% bootstrap CI."
        ),
        "<h3>AUC by covariate set</h3>",
        figure_html(auc_by_set_figure(results, "auc")),
    ]
    with_truth = [r for r in results if r.has_truth]
    if with_truth:
        parts += ["<h3>Truth AUC by covariate set</h3>"]
        parts.append(figure_html(auc_by_set_figure(with_truth, "truth_auc")))
    for res in results:
        skipped = int(res.per_species["skipped"].sum())
        parts.append(f"<h3>{res.dataset}: summary</h3>")
        parts.append(
            note_html(
                f"{int((~res.per_species['skipped'].astype(bool)).sum())} species evaluated, "
                f"{skipped} skipped (too few records)."
            )
        )
        parts.append(table_html(summary_table(res)))
    scatter = trained_vs_baseline_figure(
        with_truth or results, "truth_auc" if with_truth else "auc"
    )
    if scatter is not None:
        parts += ["<h3>Per species: trained encoder vs best baseline</h3>", figure_html(scatter)]
    for res in results:
        maps = distribution_maps_figure(res)
        if maps is not None:
            parts += [f"<h3>{res.dataset}: predicted distributions</h3>", figure_html(maps)]
        embedding = embedding_map_figure(res)
        if embedding is not None:
            parts += [f"<h3>{res.dataset}: trained embedding (PCA → RGB)</h3>"]
            parts.append(figure_html(embedding))
    return section_html("Species distribution models", *parts, anchor="sdm")
