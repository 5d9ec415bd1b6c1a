"""Maps: values binned onto a bounded raster (the grid's own cells when it is small and
regular), one colour bar that names what the colours mean, the embedding as RGB."""

import numpy as np
import pandas as pd
import pytest

from geoloc.layout import Layout
from geoloc.report.maps import (
    MAX_CELLS,
    SCALE_TITLE,
    distribution_maps_figure,
    embedding_map_figure,
    rasterize,
)
from geoloc.report.sdm_results import load_sdm_results
from tests.report.trees import equal_km_grid, evaluated, write_sdm_at_scale, write_sdm_results


def test_a_regular_grid_keeps_its_cells():
    lat, lon = np.meshgrid(40 + 0.5 * np.arange(4), 2 + 0.25 * np.arange(6), indexing="ij")
    values = np.arange(24.0)
    raster = rasterize(lat.ravel()[1:], lon.ravel()[1:], values[1:])  # one corner missing
    assert raster.values.shape == (4, 6)
    assert np.isnan(raster.values[0, 0])
    assert np.array_equal(raster.values.ravel()[1:], values[1:])
    assert np.allclose(raster.lat, 40 + 0.5 * np.arange(4))


def test_equal_km_rows_leave_no_holes_and_big_grids_are_coarsened():
    grid = equal_km_grid(n_rows=40, per_row=50)  # longitude step widens northwards
    raster = rasterize(grid["lat"], grid["lon"], np.ones(len(grid)))
    assert raster.values.shape[0] == 40
    inside = raster.values[:, : int(50 * np.cos(np.radians(grid["lat"].max())))]
    assert np.isfinite(inside).all()  # every row filled across its extent
    big = equal_km_grid(n_rows=300, per_row=300)
    coarse = rasterize(big["lat"], big["lon"], big["lat"].to_numpy())
    assert coarse.values.size <= MAX_CELLS
    assert np.nanmin(coarse.values) >= big["lat"].min()  # means of the cells merged
    rgb = rasterize(big["lat"], big["lon"], np.ones((len(big), 3)))
    assert rgb.values.shape[-1] == 3 and rgb.values.shape[:2] == coarse.values.shape


def test_scattered_cells_fill_their_box():
    rng = np.random.default_rng(0)
    lat, lon = rng.uniform(43, 49, 5000), rng.uniform(-1, 7, 5000)
    raster = rasterize(lat, lon, np.ones(5000))
    assert 1000 < raster.values.size <= MAX_CELLS
    assert np.isfinite(raster.values).mean() > 0.5


def test_distribution_maps_share_one_labelled_colour_bar(tmp_path):
    layout = Layout(tmp_path)
    write_sdm_results(evaluated(layout, "plants"))
    (res,) = load_sdm_results(layout.report().evaluate)
    fig = distribution_maps_figure(res)
    assert [t.type for t in fig.data] == ["heatmap"] * 3  # truth, trained, coords
    assert {t.coloraxis for t in fig.data} == {"coloraxis"}
    colour = fig.layout.coloraxis
    assert (colour.cmin, colour.cmax) == (0, 1) and colour.colorbar.title.text == SCALE_TITLE
    assert "unitless" in SCALE_TITLE and "1 = in range" in SCALE_TITLE
    for trace in fig.data:  # each map scaled to 0-1 on its own
        assert np.nanmin(trace.z) == 0 and np.nanmax(trace.z) == 1
    assert fig.layout.xaxis.ticksuffix == "° E" and fig.layout.yaxis.scaleanchor == "x"


def test_maps_at_scale_show_a_few_species_on_bounded_rasters(tmp_path):
    layout = Layout(tmp_path)
    grid = equal_km_grid(n_rows=200, per_row=200)
    write_sdm_at_scale(evaluated(layout, "plants"), 50, map_species=10, grid=grid)
    (res,) = load_sdm_results(layout.report().evaluate)
    fig = distribution_maps_figure(res)
    assert len(fig.data) == 3 * 3  # MAP_SPECIES species x (truth, trained, best baseline)
    assert all(np.asarray(t.z).size <= MAX_CELLS for t in fig.data)
    embedding = embedding_map_figure(res)
    assert len(embedding.data[0].x) <= MAX_CELLS
    assert embedding.data[0].marker.color[0].startswith("rgb(")


def test_embedding_colours_are_the_grid_rgb():
    from geoloc.report.sdm_results import SdmResults

    lat, lon = np.meshgrid([45.0, 46.0], [1.0, 2.0, 3.0, 4.0], indexing="ij")
    rgb = np.eye(3)[np.arange(8) % 3]
    grid = pd.DataFrame({"lat": lat.ravel(), "lon": lon.ravel(), "r": rgb[:, 0]})
    grid = grid.assign(g=rgb[:, 1], b=rgb[:, 2])
    res = SdmResults("plants", pd.DataFrame(), {"sets": {}}, pd.DataFrame(), grid)
    trace = embedding_map_figure(res).data[0]
    expected = ["rgb(255,0,0)", "rgb(0,255,0)", "rgb(0,0,255)"] * 3
    assert list(trace.marker.color) == expected[:8]
    assert list(trace.y) == pytest.approx(lat.ravel()) and list(trace.x) == pytest.approx(
        lon.ravel()
    )
