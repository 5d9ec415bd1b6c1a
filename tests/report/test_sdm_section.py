"""The SDM figures: one slot per dataset in the AUC boxes, axes fitted to the data, a readable
trained-vs-baseline scatter, and bounded sizes at scale."""

import numpy as np
import pytest

from geoloc.layout import Layout
from geoloc.report.sdm_results import load_sdm_results
from geoloc.report.sdm_section import (
    POINTS_LIMIT,
    SCATTER_LIMIT,
    auc_by_set_figure,
    box_stats,
    fitted_range,
    trained_vs_baseline_figure,
)
from tests.report.trees import equal_km_grid, evaluated, write_sdm_at_scale, write_sdm_results


@pytest.fixture
def three_datasets(tmp_path):
    layout = Layout(tmp_path)
    for name in ("plants", "fungi", "birds"):
        write_sdm_results(evaluated(layout, name))
    return load_sdm_results(layout.report().evaluate, ["plants", "fungi", "birds"])


def test_each_dataset_has_its_own_slot_per_covariate_set(three_datasets):
    fig = auc_by_set_figure(three_datasets, "auc")
    boxes = [t for t in fig.data if t.type == "box"]
    assert [b.name for b in boxes] == ["plants", "fungi", "birds"]
    slots = np.array([b.x for b in boxes])  # (dataset, set)
    assert slots.shape == (3, 2) and len(np.unique(slots)) == 6
    assert np.all(np.diff(slots, axis=0) >= boxes[0].width)  # side by side, never overlapping
    assert np.all(np.abs(slots - np.arange(2)) < 0.5)  # inside their covariate set's unit
    assert list(fig.layout.xaxis.ticktext) == ["trained", "coords"]
    diamonds = [t for t in fig.data if t.type == "scatter" and t.marker.symbol == "diamond"]
    assert [list(d.x) for d in diamonds] == slots.tolist()  # means sit on their boxes


def test_auc_axis_spans_the_data_with_a_small_margin(three_datasets):
    lo, hi = auc_by_set_figure(three_datasets, "auc").layout.yaxis.range
    # per-species AUCs 0.7-0.9, mean CIs 0.7-0.9: the data, plus 5% of their span
    assert lo == pytest.approx(0.69) and hi == pytest.approx(0.91)
    assert fitted_range([0.95, 0.95]) == pytest.approx([0.94, 0.96])  # at least 0.01
    assert fitted_range([None, float("nan")]) == [0.0, 1.0]


def test_box_stats_are_quartiles_and_tukey_whiskers():
    values = np.array([0.1, 0.6, 0.62, 0.64, 0.66, 0.68, 0.7])
    stats = box_stats(values)
    assert stats["median"] == 0.64 and stats["q1"] == pytest.approx(0.61)
    assert stats["lowerfence"] == 0.6 and stats["upperfence"] == 0.7  # 0.1 is an outlier


def test_scatter_has_equal_axes_a_diagonal_and_titles(three_datasets):
    fig = trained_vs_baseline_figure(three_datasets, "truth_auc")
    x, y = fig.layout.xaxis, fig.layout.yaxis
    assert x.range == y.range and y.scaleanchor == "x" and y.scaleratio == 1
    assert x.title.text == "best baseline's truth AUC"
    assert y.title.text == "trained encoder's truth AUC"
    diagonal = fig.data[-1]
    assert list(diagonal.x) == list(diagonal.y) == list(x.range)
    assert [t.name for t in fig.data[:3]] == [
        f"{d} (best baseline: coords)" for d in ("plants", "fungi", "birds")
    ]


def test_many_species_are_drawn_as_boxes_and_a_sample(tmp_path):
    layout = Layout(tmp_path)
    grid = equal_km_grid(3, 5)
    write_sdm_at_scale(evaluated(layout, "plants"), 3 * SCATTER_LIMIT, map_species=1, grid=grid)
    (res,) = load_sdm_results(layout.report().evaluate)
    fig = auc_by_set_figure([res], "auc")
    assert len(res.evaluated) > POINTS_LIMIT
    assert [t.type for t in fig.data] == ["box", "scatter"]  # no per-species points
    assert all(t.type != "box" or t.y is None for t in fig.data)  # quartiles, not values
    scatter = trained_vs_baseline_figure([res], "auc")
    assert len(scatter.data[0].x) == SCATTER_LIMIT
    assert f"{SCATTER_LIMIT} of {len(res.evaluated)} species shown" in scatter.data[0].name


def test_a_set_only_one_dataset_has_gets_a_box_only_there(three_datasets):
    plants, fungi, _ = three_datasets
    fungi.summary["sets"]["rff"] = {"auc": {"mean": 0.6, "ci_low": 0.55, "ci_high": 0.65}}
    fungi.per_species["auc_rff"] = [0.6, 0.62, None]
    fig = auc_by_set_figure([plants, fungi], "auc")
    boxes = {t.name: list(t.x) for t in fig.data if t.type == "box"}
    assert len(boxes["plants"]) == 2 and len(boxes["fungi"]) == 3
    assert list(fig.layout.xaxis.ticktext) == ["trained", "coords", "rff"]
    assert fig.layout.yaxis.range[0] < 0.6  # the new set's values are on the axis
