"""Training curves: rows of panels far enough apart for their titles, long runs thinned."""

import numpy as np
import pandas as pd

from geoloc.report.training_section import (
    CURVE_POINTS,
    GAP_PX,
    MARGIN_PX,
    training_curves_figure,
)


def _curves(names, steps=10):
    return {n: pd.DataFrame({"step": np.arange(steps), "value": np.arange(steps)}) for n in names}


def test_rows_leave_room_for_axis_and_panel_titles():
    for n_panels in (2, 4, 7, 12):
        fig = training_curves_figure(_curves([f"m{i}" for i in range(n_panels)]))
        plot_px = fig.layout.height - sum(MARGIN_PX)
        tops = sorted({fig.layout[a].domain[1] for a in fig.layout if a.startswith("yaxis")})
        bottoms = sorted({fig.layout[a].domain[0] for a in fig.layout if a.startswith("yaxis")})
        gaps_px = [(b - t) * plot_px for t, b in zip(tops[:-1], bottoms[1:], strict=True)]
        assert all(gap >= GAP_PX - 1 for gap in gaps_px), (n_panels, gaps_px)
        assert all(fig.layout[a].title.text == "epoch" for a in fig.layout if a.startswith("xaxis"))


def test_long_runs_are_thinned_to_a_bounded_number_of_points():
    fig = training_curves_figure(_curves(["loss"], steps=5 * CURVE_POINTS + 3))
    assert len(fig.data[0].x) <= CURVE_POINTS and fig.data[0].x[0] == 0
