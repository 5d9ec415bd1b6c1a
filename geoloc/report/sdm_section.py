"""Report section of the SDM evaluation (results/evaluate/<ds>/): AUC by covariate set and
dataset, trained encoder vs best baseline per species, predicted maps next to the truth, and the
trained embedding map (once: the encoder is shared by every dataset).

Sized for 10^4 species: boxes are drawn from their quartiles (points only up to POINTS_LIMIT
species), the per-species scatter shows a fixed sample of at most SCATTER_LIMIT species per
dataset, tables are per covariate set, and maps (maps.py) are bounded rasters of a few species.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from geoloc.layout import ReportPaths
from geoloc.report.html import PALETTE, figure_html, note_html, section_html, table_html
from geoloc.report.maps import distribution_maps_figure, embedding_map_figure
from geoloc.report.sdm_results import SdmResults, best_baseline, load_sdm_results

POINTS_LIMIT = 300  # species above which a box is drawn without its points
SCATTER_LIMIT = 2000  # species per dataset in the trained-vs-baseline scatter
SLOTS = 0.8  # share of a covariate set's x unit taken by its datasets' boxes


def fitted_range(values, margin: float = 0.05) -> list[float]:
    """[low, high] around the finite `values` with `margin` of their span (at least 0.01) each
    side."""
    values = np.asarray([v for v in values if v is not None], dtype=np.float64)
    values = values[np.isfinite(values)]
    if not len(values):
        return [0.0, 1.0]
    lo, hi = float(values.min()), float(values.max())
    pad = max((hi - lo) * margin, 0.01)
    return [lo - pad, hi + pad]


def box_stats(values: np.ndarray) -> dict:
    """Quartiles and Tukey whiskers (the furthest values within 1.5 IQR of the box)."""
    q1, median, q3 = np.percentile(values, [25, 50, 75])
    inside = values[(values >= q1 - 1.5 * (q3 - q1)) & (values <= q3 + 1.5 * (q3 - q1))]
    return {
        "q1": q1,
        "median": median,
        "q3": q3,
        "lowerfence": inside.min(),
        "upperfence": inside.max(),
    }


def _species_points(res: SdmResults, prefix: str, slot: dict[str, float], width: float, color):
    """Each species as a point over its box, spread sideways by a fixed jitter."""
    rng = np.random.default_rng(0)
    traces = []
    for name, x in slot.items():
        rows = res.evaluated[res.evaluated[f"{prefix}_{name}"].notna()]
        traces.append(
            go.Scatter(
                x=x + rng.uniform(-width / 3, width / 3, len(rows)),
                y=rows[f"{prefix}_{name}"],
                mode="markers",
                marker={"size": 5, "color": color, "opacity": 0.55},
                text=rows["species"],
                hovertemplate=f"%{{text}}<br>{name}: %{{y:.3f}}<extra>{res.dataset}</extra>",
                legendgroup=res.dataset,
                showlegend=False,
            )
        )
    return traces


def _dataset_boxes(res: SdmResults, prefix: str, slot: dict[str, float], width: float, color):
    """One dataset's traces (boxes at its slots, its species as points when few, the means)
    and the values they span."""
    values = {
        name: res.evaluated[f"{prefix}_{name}"].dropna().to_numpy(float)
        for name in slot
        if f"{prefix}_{name}" in res.evaluated and prefix in res.summary["sets"].get(name, {})
    }
    slot = {name: x for name, x in slot.items() if len(values.get(name, ()))}
    if not slot:
        return [], []
    stats = [box_stats(values[name]) for name in slot]
    traces = [
        go.Box(
            x=list(slot.values()),
            **{key: [st[key] for st in stats] for key in stats[0]},
            width=width,
            name=res.dataset,
            legendgroup=res.dataset,
            marker_color=color,
            hoverinfo="y+name",
        )
    ]
    if len(res.evaluated) <= POINTS_LIMIT:
        traces += _species_points(res, prefix, slot, width, color)
    means = [res.summary["sets"][name][prefix] for name in slot]
    traces.append(
        go.Scatter(
            x=list(slot.values()),
            y=[st["mean"] for st in means],
            error_y={
                "type": "data",
                "symmetric": False,
                "array": [_gap(st["ci_high"], st["mean"]) for st in means],
                "arrayminus": [_gap(st["mean"], st["ci_low"]) for st in means],
            },
            mode="markers",
            marker={"symbol": "diamond", "size": 11, "color": color, "line": {"width": 1}},
            name=f"{res.dataset} mean (95% CI)",
            legendgroup=res.dataset,
            hovertemplate="mean %{y:.3f}<extra>" + res.dataset + "</extra>",
        )
    )
    extremes = [v for name in slot for v in (values[name].min(), values[name].max())]
    extremes += [st.get(k) for st in means for k in ("ci_low", "ci_high")]
    return traces, extremes


def auc_by_set_figure(results: list[SdmResults], prefix: str = "auc") -> go.Figure:
    """Per-species AUC as a box per covariate set and dataset, each dataset in its own slot
    beside the others, with the mean and its 95% bootstrap CI as a diamond with error bars; the
    y axis spans the data."""
    sets = list(dict.fromkeys(s for r in results for s in r.sets))
    width = SLOTS / max(len(results), 1)
    fig, shown = go.Figure(), []
    for i, res in enumerate(results):
        offset = (i - (len(results) - 1) / 2) * width
        slot = {s: j + offset for j, s in enumerate(sets)}
        traces, extremes = _dataset_boxes(res, prefix, slot, 0.8 * width, PALETTE[i % len(PALETTE)])
        fig.add_traces(traces)
        shown += extremes
    label = "truth AUC (true range)" if prefix == "truth_auc" else "AUC (held-out blocks)"
    fig.update_layout(
        boxmode="overlay",
        yaxis={"title": label, "range": fitted_range(shown)},
        xaxis={
            "title": "covariate set",
            "tickvals": list(range(len(sets))),
            "ticktext": sets,
            "range": [-0.5, len(sets) - 0.5],
            "zeroline": False,
        },
        height=460,
        margin={"t": 30},
    )
    return fig


def _gap(a, b) -> float:
    return float(a - b) if a is not None and b is not None else 0.0


def scatter_rows(res: SdmResults, columns: list[str]) -> tuple[pd.DataFrame, int]:
    """The evaluated species with every value in `columns` (a fixed sample of SCATTER_LIMIT
    when there are more), and how many there are."""
    rows = res.evaluated.dropna(subset=columns)
    if len(rows) > SCATTER_LIMIT:
        return rows.sample(SCATTER_LIMIT, random_state=0).sort_index(), len(rows)
    return rows, len(rows)


def trained_vs_baseline_figure(results: list[SdmResults], prefix: str = "auc") -> go.Figure | None:
    """Each species as a point: best baseline AUC (x) vs trained AUC (y), on equal axes; above
    the diagonal = the trained encoder wins for that species."""
    fig, shown = go.Figure(), []
    metric = prefix.replace("_", " ").replace("auc", "AUC")
    for i, res in enumerate(results):
        base = best_baseline(res, prefix)
        if base is None or f"{prefix}_trained" not in res.per_species:
            continue
        x, y = f"{prefix}_{base}", f"{prefix}_trained"
        rows, total = scatter_rows(res, [x, y])
        sampled = f"; {len(rows)} of {total} species shown" if len(rows) < total else ""
        fig.add_trace(
            go.Scatter(
                x=rows[x],
                y=rows[y],
                mode="markers",
                marker={"size": 8, "color": PALETTE[i % len(PALETTE)], "opacity": 0.8},
                name=f"{res.dataset} (best baseline: {base}{sampled})",
                text=rows["species"],
                hovertemplate="%{text}<br>" + base + " %{x:.3f}<br>trained %{y:.3f}<extra></extra>",
            )
        )
        shown += list(rows[x]) + list(rows[y])
    if not fig.data:
        return None
    lo, hi = fitted_range(shown)
    fig.add_trace(
        go.Scatter(
            x=[lo, hi],
            y=[lo, hi],
            mode="lines",
            line={"dash": "dot", "color": "#888"},
            name="equal (above: trained better)",
            hoverinfo="skip",
        )
    )
    fig.update_layout(
        xaxis={"title": f"best baseline's {metric}", "range": [lo, hi], "constrain": "domain"},
        yaxis={
            "title": f"trained encoder's {metric}",
            "range": [lo, hi],
            "scaleanchor": "x",
            "scaleratio": 1,
            "constrain": "domain",
        },
        height=620,
        legend={"orientation": "h", "y": -0.15},
        margin={"t": 30},
    )
    return fig


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


def _embedding_html(results: list[SdmResults]) -> list[str]:
    """The trained embedding once, on the largest of the datasets' grids."""
    with_grid = [r for r in results if not r.embedding_grid.empty]
    if not with_grid:
        return []
    res = max(with_grid, key=lambda r: len(r.embedding_grid))
    return [
        "<h3>Trained embedding (PCA → RGB)</h3>",
        note_html(
            "The location encoder is shared by every dataset: its embedding on the map grid of "
            f"{res.dataset}, the first three principal components shown as red, green and blue "
            "(unitless; similar colours = places the encoder finds alike)."
        ),
        figure_html(embedding_map_figure(res)),
    ]


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
            "against the true range of the demo's virtual species. Boxes: quartiles over species "
            f"(points: the species, up to {POINTS_LIMIT}); diamonds: mean over species with 95% "
            "bootstrap CI."
        ),
        "<h3>AUC by covariate set</h3>",
        figure_html(auc_by_set_figure(results, "auc")),
    ]
    with_truth = [r for r in results if r.has_truth]
    if with_truth:
        parts += ["<h3>Truth AUC by covariate set</h3>"]
        parts.append(figure_html(auc_by_set_figure(with_truth, "truth_auc")))
    for res in results:
        parts.append(f"<h3>{res.dataset}: summary</h3>")
        parts.append(
            note_html(
                f"{len(res.evaluated)} species evaluated, "
                f"{len(res.per_species) - len(res.evaluated)} skipped (too few records)."
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
    parts += _embedding_html(results)
    return section_html("Species distribution models", *parts, anchor="sdm")
