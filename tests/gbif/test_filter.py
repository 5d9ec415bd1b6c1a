import datetime as dt
import json
import os
import socket
import subprocess
import sys
import zipfile

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from click.testing import CliRunner

from geoloc.cli import main
from geoloc.errors import GeolocError
from geoloc.gbif.filter import OUTPUT_SCHEMA, RULES, filter_archive
from geoloc.params import DataParams
from tests.gbif.dwca_builder import (
    BEETLE,
    OCCURRENCE_COLUMNS,
    PLANT,
    image,
    occurrence,
    replace_member,
    write_archive,
)

PARAMS = DataParams(
    country="FR",
    datasets={"plants": {"kingdom": "Plantae"}, "beetles": {"class": "Insecta"}},
    reject_issues=["ZERO_COORDINATE", "COUNTRY_COORDINATE_MISMATCH"],
    min_obs_per_species=3,
)
RARE = {**PLANT, "species": "Salvia rara", "speciesKey": "999"}
ONE_EACH = {  # gbif_id -> the rule that must remove it (plants)
    10: ("country", {"countryCode": "DE"}),
    11: ("basis_of_record", {"basisOfRecord": "PRESERVED_SPECIMEN"}),
    12: ("species_rank", {"taxonRank": "GENUS"}),
    15: ("issues", {"issue": "GEODETIC_DATUM_ASSUMED_WGS84;ZERO_COORDINATE"}),
    16: ("coordinates_missing", {"decimalLatitude": ""}),
    17: ("coordinates_not_numeric", {"decimalLatitude": "north"}),
    18: ("coordinates_out_of_range", {"decimalLongitude": "-181.5"}),
    19: ("uncertainty", {"coordinateUncertaintyInMeters": "5000"}),
}


def demo_rows():
    rows = [occurrence(i) for i in (1, 2, 3, 4)]
    rows.append(occurrence(20, coordinateUncertaintyInMeters=""))  # missing uncertainty is kept
    rows += [occurrence(i, **values) for i, (_, values) in ONE_EACH.items()]
    rows.append(occurrence(14, gbifID="abc"))
    rows.append(occurrence(21))  # no image
    first = rows[0]
    rows.append(  # same species, place, day and observer as 1, later the same day
        occurrence(22, **{k: first[k] for k in ("decimalLatitude", "decimalLongitude")},
                   recordedBy=first["recordedBy"], eventDate="2023-05-04T18:30:00")
    )  # fmt: skip
    rows += [occurrence(30, RARE), occurrence(31, RARE)]
    rows += [occurrence(i, BEETLE) for i in (101, 102, 103)]
    rows.append("9\tonly\tthree")  # wrong number of fields
    return rows


def demo_images():
    media = [image(1, "https://example.org/sound.mp3", kind="Sound")]
    media += [image(1, "https://example.org/first.jpg"), image(1, "https://example.org/2nd.jpg")]
    media += [image("2 "), image(3, " "), image(3, "https://example.org/3.jpg")]
    ids = [4, 20, 22, 30, 31, 101, 102, 103, *ONE_EACH]
    return media + [image(i) for i in ids]


@pytest.fixture
def demo_zip(tmp_path):
    return write_archive(tmp_path / "demo.zip", demo_rows(), demo_images())


def test_each_rule_removes_its_rows_and_is_counted(demo_zip, tmp_path):
    out = tmp_path / "filtered"
    report = filter_archive(demo_zip, out, PARAMS)

    plants = pq.read_table(out / "plants.parquet")
    assert plants.schema == OUTPUT_SCHEMA
    assert plants.column("gbif_id").to_pylist() == [1, 2, 3, 4, 20]
    urls = plants.column("image_url").to_pylist()
    assert urls[:3] == [
        "https://example.org/first.jpg",  # the first StillImage, not the Sound before it
        "https://example.org/2.jpg",  # joined although multimedia's gbifID had a trailing space
        "https://example.org/3.jpg",  # blank identifiers are not images
    ]
    first = plants.slice(0, 1).to_pylist()[0]
    assert first["event_date"] == dt.date(2023, 5, 4)
    assert (first["species_key"], first["species"], first["kingdom"]) == (
        5341289,
        "Salvia pratensis",
        "Plantae",
    )
    assert (first["lat"], first["lon"], first["uncertainty_m"]) == (45.01, 2.01, 10.0)
    assert plants.column("uncertainty_m").to_pylist()[-1] is None

    beetles = pq.read_table(out / "beetles.parquet")
    assert beetles.column("gbif_id").to_pylist() == [101, 102, 103]

    dropped = report["datasets"]["plants"]["dropped"]
    expected = dict.fromkeys(RULES, 0)
    expected.update({rule: 1 for rule, _ in ONE_EACH.values()})
    expected.update(
        malformed_row=1, bad_gbif_id=1, taxon_group=3, no_image=1, duplicate=1,
        min_obs_per_species=2,
    )  # fmt: skip
    assert dropped == expected
    assert report["rows_read"] == len(demo_rows())
    assert report["malformed_rows"] == 1
    for name, kept in (("plants", 5), ("beetles", 3)):
        summary = report["datasets"][name]
        assert summary["kept"] == kept
        assert summary["rows_read"] == kept + sum(summary["dropped"].values())
    assert report["datasets"]["plants"]["species"] == 1
    assert json.loads((out / "report.json").read_text()) == report
    assert sorted(p.name for p in out.iterdir()) == [
        "beetles.parquet",
        "plants.parquet",
        "report.json",
    ]


def test_partitioned_small_block_run_gives_identical_results(demo_zip, tmp_path):
    one = filter_archive(demo_zip, tmp_path / "one", PARAMS)
    many = filter_archive(  # blocks of ~3 rows (the header of GBIF's columns takes 650 bytes)
        demo_zip, tmp_path / "many", PARAMS, block_size=1024, batch_rows=3, partition_bytes=300
    )
    assert many["datasets"] == one["datasets"]
    for name in PARAMS.datasets:  # same rows; the order follows the partitions
        assert (
            pq.read_table(tmp_path / "many" / f"{name}.parquet")
            .sort_by("gbif_id")
            .equals(pq.read_table(tmp_path / "one" / f"{name}.parquet").sort_by("gbif_id"))
        )


def test_old_download_without_header_lines_gives_the_same_tables(demo_zip, tmp_path):
    old = write_archive(tmp_path / "old.zip", demo_rows(), demo_images(), header=False)
    assert (
        filter_archive(old, tmp_path / "old", PARAMS)["datasets"]
        == (filter_archive(demo_zip, tmp_path / "new", PARAMS)["datasets"])
    )
    assert pq.read_table(tmp_path / "old" / "plants.parquet").equals(
        pq.read_table(tmp_path / "new" / "plants.parquet")
    )


def test_output_folder_that_is_a_file(demo_zip, tmp_path):
    (tmp_path / "out").write_text("x")
    with pytest.raises(GeolocError, match="is a file"):
        filter_archive(demo_zip, tmp_path / "out", PARAMS)


def test_rules_can_be_switched_off(demo_zip, tmp_path):
    params = PARAMS.model_copy(
        update={"require_image": False, "drop_duplicates": False, "reject_issues": []}
    )
    report = filter_archive(demo_zip, tmp_path / "out", params)
    ids = pq.read_table(tmp_path / "out" / "plants.parquet").column("gbif_id").to_pylist()
    assert ids == [1, 2, 3, 4, 20, 15, 21, 22]
    assert pq.read_table(tmp_path / "out" / "plants.parquet").column("image_url")[6].as_py() is None
    assert report["datasets"]["plants"]["dropped"]["no_image"] == 0


@pytest.mark.parametrize(
    ("update", "fragments"),
    [
        ({"datasets": {"fungi": {"kingdom": "Fungi"}}}, ["'fungi'", "'taxon_group'", "Fungi"]),
        ({"min_obs_per_species": 50}, ["'plants'", "'min_obs_per_species'", "fewer than 50"]),
        ({"country": "US"}, ["'country'", "countryCode is not US"]),
    ],
)
def test_empty_result_names_the_rule_and_writes_nothing(demo_zip, tmp_path, update, fragments):
    out = tmp_path / "filtered"
    out.mkdir()
    (out / "plants.parquet").write_text("previous output")
    with pytest.raises(GeolocError) as err:
        filter_archive(demo_zip, out, PARAMS.model_copy(update=update))
    for fragment in fragments:
        assert fragment in str(err.value)
    assert sorted(p.name for p in out.iterdir()) == ["plants.parquet"]
    assert (out / "plants.parquet").read_text() == "previous output"


def test_archive_without_images_says_so(tmp_path):
    path = write_archive(tmp_path / "a.zip", [occurrence(i) for i in range(1, 5)])
    params = PARAMS.model_copy(update={"datasets": {"plants": {"kingdom": "Plantae"}}})
    with pytest.raises(GeolocError, match="'no_image'"):
        filter_archive(path, tmp_path / "out", params)


def test_every_row_malformed(tmp_path):
    path = write_archive(tmp_path / "a.zip", ["1\ta\tb", "2\tc"])
    with pytest.raises(GeolocError, match="'malformed_row': rows with the wrong number"):
        filter_archive(path, tmp_path / "out", PARAMS)


def test_no_data_rows(tmp_path):
    path = write_archive(tmp_path / "a.zip", [])
    with pytest.raises(GeolocError, match="no data rows"):
        filter_archive(path, tmp_path / "out", PARAMS)


def test_missing_required_terms(tmp_path):
    columns = [c for c in OCCURRENCE_COLUMNS if c[0] not in ("speciesKey", "eventDate")]
    path = write_archive(tmp_path / "a.zip", [occurrence(1)], columns=columns)
    with pytest.raises(GeolocError, match="lacks required terms: species_key .*event_date"):
        filter_archive(path, tmp_path / "out", PARAMS)
    assert not (tmp_path / "out" / "report.json").exists()


def _params_file(tmp_path, archive):
    path = tmp_path / "params.yaml"
    path.write_text(
        f"data:\n  archive: {archive}\n  min_obs_per_species: 3\n"
        "  datasets: {plants: {kingdom: Plantae}, beetles: {class: Insecta}}\n"
    )
    return path


def test_cli_reports_counts_and_bad_input_cleanly(demo_zip, tmp_path):
    params = _params_file(tmp_path, demo_zip)
    out = tmp_path / "cli"
    result = CliRunner().invoke(main, ["filter", "--params", str(params), "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert "plants: kept 5 of" in result.output
    assert (out / "beetles.parquet").is_file()

    truncated = tmp_path / "truncated.zip"
    truncated.write_bytes(demo_zip.read_bytes()[:-200])
    args = ["filter", "--params", str(params), "--archive", str(truncated), "--out", str(out)]
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 1
    assert result.output.startswith("Error: ") and "truncated" in result.output
    assert "Traceback" not in result.output


REJECT = ["ZERO_COORDINATE", "COORDINATE_INVALID", "COUNTRY_COORDINATE_MISMATCH"]


def _reference(path, min_obs: int) -> list[int]:
    """The same rules written plainly with pandas over the whole (small) real download."""
    read = {"sep": "\t", "quoting": 3, "dtype": str, "keep_default_na": False}
    with zipfile.ZipFile(path) as archive:
        occ = pd.read_csv(archive.open("occurrence.txt"), **read)
        media = pd.read_csv(archive.open("multimedia.txt"), **read)
    lat = pd.to_numeric(occ.decimalLatitude, errors="coerce")
    lon = pd.to_numeric(occ.decimalLongitude, errors="coerce")
    unc = pd.to_numeric(occ.coordinateUncertaintyInMeters, errors="coerce")
    flags = occ.issue.str.split(";").map(set)
    keep = (
        (occ.countryCode == "US")
        & (occ.basisOfRecord == "HUMAN_OBSERVATION")
        & (occ["class"] == "Arachnida")
        & (occ.taxonRank == "SPECIES")
        & (occ.speciesKey != "")
        & ~flags.map(lambda f: bool(f & set(REJECT)))
        & lat.between(-90, 90)
        & lon.between(-180, 180)
        & ((occ.coordinateUncertaintyInMeters == "") | (unc <= 1000))
    )
    with_image = set(media.gbifID.str.strip()[media.type == "StillImage"])
    occ = occ[keep & occ.gbifID.isin(with_image)].assign(lat=lat, lon=lon)
    occ = occ.assign(day=occ.eventDate.str[:10]).drop_duplicates(
        ["speciesKey", "lat", "lon", "day", "recordedBy"]
    )
    counts = occ.speciesKey.map(occ.speciesKey.value_counts())
    return sorted(occ.gbifID[counts >= min_obs].astype(int))


def test_real_gbif_download(shared_data, tmp_path):
    path = shared_data / "gbif" / "0022697-200613084148143.zip"
    params = DataParams(
        country="US", datasets={"ticks": {"class": "Arachnida"}}, reject_issues=REJECT
    )
    report = filter_archive(path, tmp_path, params)
    table = pq.read_table(tmp_path / "ticks.parquet")
    ids = table.column("gbif_id").to_pylist()
    assert sorted(ids) == _reference(path, params.min_obs_per_species)
    assert report["rows_read"] == 1310 and report["malformed_rows"] == 0
    assert report["datasets"]["ticks"]["kept"] == len(ids) > 700
    padded = table.to_pandas().set_index("gbif_id").loc[2803144270]  # " " after its media id
    assert padded.image_url.startswith("https://static.inaturalist.org/photos/80735201/")
    assert set(table.column("species").to_pylist()) == {"Amblyomma americanum"}


def test_integer_ids_parse_strictly():
    from geoloc.gbif.filter import _parse_int

    values, valid = _parse_int(pa.array(["12", " 7 ", "", "abc", "2.5", "inf", "1e300", "3.0"]))
    assert valid.tolist() == [True, True, False, False, False, False, False, True]
    assert values[valid].tolist() == [12, 7, 3]


def test_a_failed_run_leaves_no_empty_output_and_a_rerun_cleans_what_killed_runs_left(
    demo_zip, tmp_path
):
    out = tmp_path / "new"
    bad = tmp_path / "bad.zip"
    bad.write_bytes(b"not a zip")
    with pytest.raises(GeolocError, match="not a zip archive"):
        filter_archive(bad, out, PARAMS)
    assert not out.exists()

    out.mkdir()
    finished = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                              capture_output=True, text=True, check=True)  # fmt: skip
    dead, host = finished.stdout.strip(), socket.gethostname()
    killed = out / f".filter-{host}-{dead}-k1ll3d"  # a run killed with kill -9
    killed.mkdir()
    (killed / "occurrence-0.arrow").write_bytes(b"spilled rows")
    (out / ".filter-oldstyle").mkdir()  # from a version that did not name its owner
    (out / f".plants.parquet.tmp-{dead}").write_bytes(b"half written")
    live = out / f".filter-{host}-{os.getpid()}-running"  # a live run's: kept
    live.mkdir()
    filter_archive(demo_zip, out, PARAMS)
    expected = ["beetles.parquet", "plants.parquet", "report.json", live.name]
    assert sorted(p.name for p in out.iterdir()) == sorted(expected)


def _nul_archive(path, header: bool):
    """An occurrence file of 64 MiB of NUL bytes (no line break) after a real header, zipped."""
    text = "\t".join(name for name, _ in OCCURRENCE_COLUMNS) + "\n" if header else ""
    data = text.encode() + bytes(64 << 20)
    replace_member(write_archive(path, [occurrence(1)]), "occurrence.txt", data)
    assert path.stat().st_size < 1 << 20  # a small download that inflates to 64 MiB
    return path


@pytest.mark.slow
def test_hostile_archives_end_with_a_message_never_an_abort(tmp_path):
    """The parse error of a NUL-filled file used to be followed, in half the runs, by `Fatal
    Python error: PyGILState_Release` (rc 134): pyarrow's read-ahead thread outlived the error."""
    cases = {
        "rows.zip": (_nul_archive(tmp_path / "rows.zip", header=True), "line of over 1048576"),
        "head.zip": (_nul_archive(tmp_path / "head.zip", header=False), "header line"),
    }
    for name, (path, message) in cases.items():
        for _ in range(3):
            run = subprocess.run(
                [sys.executable, "-m", "geoloc.cli", "filter", "--archive", str(path),
                 "--out", str(tmp_path / "out")],
                capture_output=True, text=True, timeout=120,
            )  # fmt: skip
            assert run.returncode == 1, (name, run.returncode, run.stderr[-2000:])
            assert message in run.stderr and "Fatal" not in run.stderr, name
