"""Reading evaluate's results: maps of the first MAP_SPECIES species only, whatever the file
holds."""

import pandas as pd

from geoloc.report.sdm_results import read_maps


def test_only_the_first_species_maps_are_read(tmp_path):
    path = tmp_path / "maps.parquet"
    rows = [
        {"species_key": key, "layer": layer, "lat": 45.0, "lon": 1.0, "value": 0.5}
        for key in (30, 10, 20, 40)
        for layer in ("trained", "truth")
    ]
    pd.DataFrame(rows).to_parquet(path, row_group_size=3)  # keys straddle row groups
    maps = read_maps(path, 2)
    assert list(dict.fromkeys(maps["species_key"])) == [30, 10] and len(maps) == 4
    assert read_maps(tmp_path / "absent.parquet", 2).empty
    pd.DataFrame().to_parquet(tmp_path / "empty.parquet")  # evaluate with map_species 0
    assert read_maps(tmp_path / "empty.parquet", 2).empty
