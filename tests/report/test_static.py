"""The README's static SVG: titled axes, a range fitted to the data."""

import re

from geoloc.layout import Layout
from geoloc.report.sdm_results import load_sdm_results
from geoloc.report.static import auc_svg, ticks
from tests.report.trees import evaluated, write_sdm_results


def test_static_svg_has_a_dot_per_set_and_dataset_and_titled_axes(tmp_path):
    layout = Layout(tmp_path)
    write_sdm_results(evaluated(layout, "plants"))
    write_sdm_results(evaluated(layout, "fungi"), with_truth=False, with_maps=False)
    results = load_sdm_results(layout.report().evaluate, ["plants"])
    assert [r.dataset for r in results] == ["plants", "fungi"]  # configured first
    svg = auc_svg(results, "auc")
    assert svg.startswith("<svg") and svg.count("<circle") == 2 * 2 + 2  # dots + legend
    assert "covariate set</text>" in svg and "mean over species (0.5 = chance)" in svg
    assert auc_svg(results, "truth_auc").count("<circle") == 2 + 1  # only plants has a truth
    # CIs span 0.7-0.9: ticks inside the fitted range, none at the old fixed 0.4-0.6
    labels = [float(t) for t in re.findall(r'text-anchor="middle">([0-9.]+)</text>', svg)]
    assert labels == [0.7, 0.75, 0.8, 0.85, 0.9]


def test_ticks_are_round_and_few():
    assert ticks(0.81, 0.99) == [0.825, 0.85, 0.875, 0.9, 0.925, 0.95, 0.975]
    assert ticks(0.2, 1.0) == [0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0]
