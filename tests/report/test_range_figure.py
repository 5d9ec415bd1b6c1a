"""The README's static PNG: a mapped species' true range, its prediction, the embedding."""

import io

import numpy as np
import pytest
from PIL import Image

from geoloc.errors import GeolocError
from geoloc.layout import Layout
from geoloc.report.range_figure import PANEL_PX, range_png, viridis
from geoloc.report.sdm_results import load_sdm_results
from tests.report.trees import equal_km_grid, evaluated, write_sdm_at_scale, write_sdm_results


def test_png_has_three_panels_of_the_mapped_species(tmp_path):
    layout = Layout(tmp_path)
    write_sdm_at_scale(evaluated(layout, "plants"), 20, map_species=2, grid=equal_km_grid(30, 40))
    image = Image.open(io.BytesIO(range_png(load_sdm_results(layout.report().evaluate))))
    assert image.format == "PNG" and image.width >= 3 * PANEL_PX
    pixels = np.asarray(image.convert("RGB"))
    assert len(np.unique(pixels.reshape(-1, 3), axis=0)) > 50  # maps drawn, not a blank sheet


def test_without_a_true_range_there_is_nothing_to_draw(tmp_path):
    layout = Layout(tmp_path)
    write_sdm_results(evaluated(layout, "fungi"), with_truth=False, with_maps=False)
    with pytest.raises(GeolocError, match="true range"):
        range_png(load_sdm_results(layout.report().evaluate))


def test_viridis_runs_dark_to_yellow_and_leaves_no_data_white():
    rgb = viridis(np.array([0.0, 1.0, np.nan]))
    assert rgb[0].tolist() == [68, 1, 84] and rgb[1].tolist() == [253, 231, 37]
    assert rgb[2].tolist() == [255, 255, 255]
