"""A dependency-free static SVG of mean AUC with 95% CIs per covariate set and dataset, for the
README (plotly's static export needs kaleido and a browser, which offline machines lack)."""

from __future__ import annotations

import html

import numpy as np

from geoloc.report.html import PALETTE
from geoloc.report.sdm_results import SdmResults
from geoloc.report.sdm_section import fitted_range

WIDTH, ROW, LEFT, RIGHT, TOP = 640, 26, 120, 30, 50
TICK_STEPS = (0.01, 0.02, 0.025, 0.05, 0.1, 0.2)


def ticks(lo: float, hi: float, most: int = 8) -> list[float]:
    """Round tick values inside [lo, hi]: the finest step of TICK_STEPS giving at most `most`."""
    step = next((s for s in TICK_STEPS if (hi - lo) / s <= most), TICK_STEPS[-1])
    first = np.ceil(lo / step - 1e-9) * step
    return [round(float(t), 4) for t in np.arange(first, hi + 1e-9, step)]


def auc_svg(results: list[SdmResults], prefix: str = "truth_auc") -> str:
    """Dot (mean) and whisker (95% bootstrap CI) per covariate set, one colour per dataset; the
    x axis spans the CIs."""
    results = [r for r in results if any(prefix in st for st in r.summary["sets"].values())]
    sets = list(dict.fromkeys(s for r in results for s in r.sets))
    stats = {
        (j, name): st
        for j, res in enumerate(results)
        for name in sets
        if (st := res.summary["sets"].get(name, {}).get(prefix)) and st["mean"] is not None
    }
    lo, hi = fitted_range([v for st in stats.values() for v in (st["ci_low"], st["ci_high"])])
    bottom = TOP + ROW * len(sets)
    height = bottom + 75
    span = WIDTH - LEFT - RIGHT

    def x(value) -> float:
        value = value if value is not None else lo
        return LEFT + span * (min(max(value, lo), hi) - lo) / (hi - lo)

    title, metric = (
        ("Truth AUC", "truth AUC (against the true range)")
        if prefix == "truth_auc"
        else ("AUC on held-out blocks", "AUC on held-out blocks")
    )
    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{height}" '
        f'font-family="sans-serif" font-size="12">',
        f'<rect width="{WIDTH}" height="{height}" fill="white"/>',
        f'<text x="{LEFT}" y="20" font-size="14" font-weight="bold">{title} by covariate set '
        "(mean, 95% CI over species)</text>",
        f'<text x="14" y="{(TOP + bottom) / 2:.1f}" text-anchor="middle" '
        f'transform="rotate(-90 14 {(TOP + bottom) / 2:.1f})">covariate set</text>',
        f'<text x="{LEFT + span / 2:.1f}" y="{bottom + 36}" text-anchor="middle">{metric}, mean '
        "over species (0.5 = chance)</text>",
    ]
    for tick in ticks(lo, hi):
        out.append(
            f'<line x1="{x(tick):.1f}" x2="{x(tick):.1f}" y1="{TOP - 8}" y2="{bottom}" '
            f'stroke="#e4e4e4"/><text x="{x(tick):.1f}" y="{bottom + 16}" '
            f'text-anchor="middle">{tick:g}</text>'
        )
    for i, name in enumerate(sets):
        y = TOP + ROW * i + ROW / 2
        out.append(
            f'<text x="{LEFT - 10}" y="{y + 4:.1f}" text-anchor="end">{html.escape(name)}</text>'
        )
        for j in range(len(results)):
            if (st := stats.get((j, name))) is None:
                continue
            dy = y + (j - (len(results) - 1) / 2) * 6
            color = PALETTE[j % len(PALETTE)]
            out.append(
                f'<line x1="{x(st["ci_low"]):.1f}" x2="{x(st["ci_high"]):.1f}" '
                f'y1="{dy:.1f}" y2="{dy:.1f}" stroke="{color}" stroke-width="2"/>'
                f'<circle cx="{x(st["mean"]):.1f}" cy="{dy:.1f}" r="4" fill="{color}"/>'
            )
    for j, res in enumerate(results):
        lx = LEFT + j * 130
        out.append(
            f'<circle cx="{lx}" cy="{height - 16}" r="4" fill="{PALETTE[j % len(PALETTE)]}"/>'
            f'<text x="{lx + 8}" y="{height - 12}">{html.escape(res.dataset)}</text>'
        )
    out.append("</svg>")
    return "\n".join(out) + "\n"
