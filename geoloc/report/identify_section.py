"""Report section for identification: per dataset, the rank classifiers compared (heads x
imbalance remedies), the confusion-matrix heatmap and most-confused pairs of the best one, the
hybrid identifier's accuracy-coverage curve with its operating point, and the location prior's
measured top-1 gain."""

from __future__ import annotations

import pandas as pd

from geoloc.layout import ReportPaths
from geoloc.report.html import figure_html, note_html, section_html, table_html
from geoloc.report.results import dataset_folders, read_json

CONFUSION_LIMIT = 30  # classes in the confusion heatmap (the most frequent in test)


def confusion_figure(report: dict, title: str):
    """Row-normalised confusion heatmap (counts on hover) of one classifier's test predictions,
    over its CONFUSION_LIMIT most frequent true classes (shares still of all predictions)."""
    import numpy as np
    import plotly.graph_objects as go

    counts = np.array(report["confusion"], dtype=float)
    totals = counts.sum(axis=1)
    shown = np.sort(np.argsort(-totals, kind="stable")[:CONFUSION_LIMIT])
    names = [report["per_class"][i]["name"] for i in shown]
    counts = counts[np.ix_(shown, shown)]
    share = counts / np.maximum(totals[shown, None], 1)
    fig = go.Figure(
        go.Heatmap(
            z=share,
            x=names,
            y=names,
            customdata=counts,
            colorscale="Blues",
            zmin=0,
            zmax=1,
            hovertemplate="true %{y}<br>pred %{x}<br>%{customdata:.0f} (%{z:.0%})<extra></extra>",
            colorbar={"title": "share of true"},
        )
    )
    fig.update_layout(
        title=title,
        xaxis_title="predicted",
        yaxis_title="true",
        yaxis_autorange="reversed",
        height=max(350, 28 * len(names) + 150),
        margin={"l": 10, "r": 10, "t": 50, "b": 10},
    )
    return fig


def coverage_figure(curves: dict[str, dict], title: str):
    """Accuracy against coverage on test (thresholds calibrated on validation per target), with
    the operating point chosen for `identify.target_coverage` marked."""
    import plotly.graph_objects as go

    fig = go.Figure()
    for label, hybrid in curves.items():
        points = [p for p in hybrid["curve"] if p["accuracy"] is not None]
        fig.add_trace(
            go.Scatter(
                x=[p["coverage"] for p in points],
                y=[p["accuracy"] for p in points],
                mode="lines+markers",
                name=label,
            )
        )
        op = hybrid["operating_point"]
        fig.add_trace(
            go.Scatter(
                x=[op["coverage"]],
                y=[op["accuracy"]],
                mode="markers",
                marker={"symbol": "star", "size": 14},
                name=f"{label}: operating point",
            )
        )
    fig.update_layout(
        title=title,
        xaxis_title="coverage (share answered)",
        yaxis_title="accuracy on answered",
        xaxis_range=[0, 1.02],
        height=380,
        margin={"l": 10, "r": 10, "t": 50, "b": 10},
    )
    return fig


def _dataset_html(name: str, metrics: dict, report: dict) -> str:
    rank = report["rank"]
    clf = report["rank_classifier"]
    runs = pd.DataFrame(clf["runs"])[
        ["head", "remedy", "top1", "top5", "macro_f1", "balanced_accuracy", "minority_recall"]
    ]
    parts = [
        f"<h3>{name}</h3>",
        note_html(
            f"{rank} classifier on test: every head x imbalance remedy; the one with the best "
            f"validation macro-F1 ({clf['best']}) is kept. Minority recall = mean accuracy over "
            "the rarer half of the classes."
        ),
        table_html(runs),
    ]
    n_classes = len(clf["test"]["per_class"])
    if n_classes > CONFUSION_LIMIT:
        parts.append(note_html(f"Confusion of the {CONFUSION_LIMIT} most frequent of {n_classes}."))
    parts.append(
        figure_html(confusion_figure(clf["test"], f"{name}: {rank} confusion ({clf['best']})"))
    )
    pairs = pd.DataFrame(clf["test"]["confused_pairs"])
    if len(pairs):
        parts += [note_html(f"Most-confused {rank} pairs (test)."), table_html(pairs.head(8))]
    rows = []
    for label, prefix in (("image only", "hybrid_"), ("with location prior", "prior_hybrid_")):
        if f"{prefix}coverage" in metrics:
            rows.append(
                {
                    "": label,
                    "coverage": metrics[f"{prefix}coverage"],
                    "accuracy": metrics[f"{prefix}accuracy"],
                    "accuracy common": metrics[f"{prefix}accuracy_common"],
                    "accuracy rare": metrics[f"{prefix}accuracy_rare"],
                }
            )
    parts += [
        note_html(
            f"Hybrid species identifier ({metrics['n_common']} common species: classifier; "
            f"{metrics['n_rare']} rare: prototypes"
            + (
                ", blended with species-name text embeddings"
                if metrics.get("proto_uses_text")
                else ""
            )
            + "), thresholds calibrated on validation for the target coverage; test split."
        ),
        table_html(pd.DataFrame(rows)),
    ]
    curves = {"image only": report["hybrid"]}
    if "hybrid_prior" in report:
        curves["with location prior"] = report["hybrid_prior"]
    parts.append(figure_html(coverage_figure(curves, f"{name}: accuracy vs coverage")))
    if metrics.get("prior_top1_gain") is not None:
        gain = metrics["prior_top1_gain"]
        rare = metrics.get("prior_top1_rare_gain")
        parts.append(
            note_html(
                f"Location prior, top-1 at full coverage on test: {metrics['prior_top1_image']:.3f}"
                f" image only -> {metrics['prior_top1_fused']:.3f} fused ({gain:+.3f})"
                + (f"; rare species {rare:+.3f}" if rare is not None else "")
                + "."
            )
        )
    return "\n".join(parts)


def identify_section(paths: ReportPaths, params) -> str | None:
    """One block per dataset with identification results; None when no dataset has any."""
    blocks = []
    datasets = params.dataset_names() if params is not None else None
    for name, folder in dataset_folders(paths.identifier, "report.json", datasets):
        metrics = read_json(folder / "metrics.json")
        if metrics is not None:
            blocks.append(_dataset_html(name, metrics, read_json(folder / "report.json")))
    if not blocks:
        return None
    return section_html("Identification", *blocks, anchor="identify")
