"""The training extent: occupied 1-degree cells, a point inside when within one cell of one."""

import numpy as np

from geoloc.encoders.extent import TrainingExtent


def test_points_within_a_cell_of_a_training_cell_are_inside():
    extent = TrainingExtent.of_points([45.5], [3.5])  # one cell: lat 45..46, lon 3..4
    assert extent.bounds == (45.5, 45.5, 3.5, 3.5) and len(extent.cells) == 1
    lat = np.array([45.5, 46.9, 44.1, 45.5, 45.5, 47.1, 45.5])
    lon = np.array([3.5, 4.9, 2.1, 5.1, 1.9, 3.5, -150.0])
    assert extent.contains(lat, lon).tolist() == [True, True, True, False, False, False, False]


def test_longitude_wraps_at_the_antimeridian_and_latitude_stops_at_the_poles():
    extent = TrainingExtent.of_points([10.0, 89.5], [179.5, 0.0])
    assert extent.contains([10.0, 10.0], [-179.5, -178.5]).tolist() == [True, False]
    assert extent.contains([90.0, 88.5, -89.5], [0.0, 1.0, 0.0]).tolist() == [True, True, False]


def test_state_round_trip():
    rng = np.random.default_rng(0)
    extent = TrainingExtent.of_points(rng.uniform(-60, 70, 300), rng.uniform(-180, 180, 300))
    back = TrainingExtent.from_state(extent.state())
    np.testing.assert_array_equal(back.cells, extent.cells)
    assert back.bounds == extent.bounds and back.cell_deg == extent.cell_deg
    probe_lat, probe_lon = rng.uniform(-90, 90, 1000), rng.uniform(-180, 180, 1000)
    np.testing.assert_array_equal(
        back.contains(probe_lat, probe_lon), extent.contains(probe_lat, probe_lon)
    )
    assert 0 < extent.contains(probe_lat, probe_lon).mean() < 1
