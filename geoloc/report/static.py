"""A dependency-free static SVG of mean AUC with 95% CIs per covariate set and dataset, for the
README (plotly's static export needs kaleido and a browser, which offline machines lack)."""

from __future__ import annotations

import html

from geoloc.report.sdm_section import PALETTE, SdmResults

WIDTH, ROW, LEFT, RIGHT, TOP = 640, 26, 110, 30, 50


def auc_svg(results: list[SdmResults], prefix: str = "truth_auc", lo: float = 0.4) -> str:
    """Dot (mean) and whisker (95% bootstrap CI) per covariate set, one colour per dataset."""
    results = [r for r in results if any(prefix in st for st in r.summary["sets"].values())]
    sets = list(dict.fromkeys(s for r in results for s in r.sets))
    height = TOP + ROW * len(sets) + 50
    span = WIDTH - LEFT - RIGHT

    def x(value: float) -> float:
        return LEFT + span * (min(max(value, lo), 1.0) - lo) / (1.0 - lo)

    title = "Truth AUC" if prefix == "truth_auc" else "AUC on held-out blocks"
    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{height}" '
        f'font-family="sans-serif" font-size="12">',
        f'<rect width="{WIDTH}" height="{height}" fill="white"/>',
        f'<text x="{LEFT}" y="20" font-size="14" font-weight="bold">{title} by covariate set '
        "(mean, 95% CI over species)</text>",
    ]
    for tick in [lo + i * 0.1 for i in range(int(round((1.0 - lo) / 0.1)) + 1)]:
        out.append(
            f'<line x1="{x(tick):.1f}" x2="{x(tick):.1f}" y1="{TOP - 8}" '
            f'y2="{TOP + ROW * len(sets)}" stroke="#e4e4e4"/>'
            f'<text x="{x(tick):.1f}" y="{TOP + ROW * len(sets) + 16}" text-anchor="middle">'
            f"{tick:.1f}</text>"
        )
    for i, name in enumerate(sets):
        y = TOP + ROW * i + ROW / 2
        out.append(
            f'<text x="{LEFT - 10}" y="{y + 4:.1f}" text-anchor="end">{html.escape(name)}</text>'
        )
        for j, res in enumerate(results):
            stats = res.summary["sets"].get(name, {}).get(prefix)
            if not stats or stats["mean"] is None:
                continue
            dy = y + (j - (len(results) - 1) / 2) * 6
            color = PALETTE[j % len(PALETTE)]
            out.append(
                f'<line x1="{x(stats["ci_low"]):.1f}" x2="{x(stats["ci_high"]):.1f}" '
                f'y1="{dy:.1f}" y2="{dy:.1f}" stroke="{color}" stroke-width="2"/>'
                f'<circle cx="{x(stats["mean"]):.1f}" cy="{dy:.1f}" r="4" fill="{color}"/>'
            )
    legend_y = height - 12
    for j, res in enumerate(results):
        lx = LEFT + j * 130
        out.append(
            f'<circle cx="{lx}" cy="{legend_y - 4}" r="4" fill="{PALETTE[j % len(PALETTE)]}"/>'
            f'<text x="{lx + 8}" y="{legend_y}">{html.escape(res.dataset)}</text>'
        )
    out.append("</svg>")
    return "\n".join(out) + "\n"
