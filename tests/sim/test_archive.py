"""The built-in virtual-species demo: archive structure, noise rows, truth, determinism, CLI."""

from __future__ import annotations

import csv
import hashlib
import io
import xml.etree.ElementTree as ET
import zipfile
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq
import pytest
from click.testing import CliRunner
from PIL import Image

from geoloc.cli import main as cli
from geoloc.errors import GeolocError
from geoloc.params import DataParams, DemoParams, parse_params
from geoloc.sim import demo as demo_mod
from geoloc.sim.demo import build_demo
from geoloc.sim.environment import in_france
from geoloc.sim.noise import NOISE_KINDS, outsider_taxon

TINY = {
    "species_per_dataset": 4,
    "families_per_dataset": 2,
    "observations": 60,
    "rare_observations": [3, 5],
    "noise_fraction": 0.25,  # 15 noise rows per dataset: every kind at least once
    "image_size": 32,
    "truth_grid_km": 20,
    "extra_image_fraction": 0.3,
}
DATASETS = DataParams().datasets
IMAGE_REF = "data/raw/demo_images"
TEXT = "{http://rs.tdwg.org/dwc/text/}"
# Terms the filter and later stages read.
REQUIRED_TERMS = (
    [
        "http://rs.gbif.org/terms/1.0/" + t
        for t in [
            "gbifID",
            "datasetKey",
            "species",
            "speciesKey",
            "taxonKey",
            "acceptedTaxonKey",
            "issue",
            "mediaType",
            "hasCoordinate",
            "hasGeospatialIssues",
        ]
    ]
    + [
        "http://rs.tdwg.org/dwc/terms/" + t
        for t in [
            "occurrenceID",
            "basisOfRecord",
            "occurrenceStatus",
            "countryCode",
            "decimalLatitude",
            "decimalLongitude",
            "coordinateUncertaintyInMeters",
            "eventDate",
            "year",
            "month",
            "day",
            "recordedBy",
            "kingdom",
            "phylum",
            "class",
            "order",
            "family",
            "genus",
            "taxonRank",
        ]
    ]
    + ["http://purl.org/dc/terms/license"]
)
REJECT = {"ZERO_COORDINATE", "COORDINATE_INVALID", "COORDINATE_OUT_OF_RANGE"}
REJECT |= {"COUNTRY_COORDINATE_MISMATCH", "PRESUMED_SWAPPED_COORDINATE"}


def _build(root: Path, **changes):
    params = DemoParams(**(TINY | changes))
    raw = root / "data" / "raw"
    summary = build_demo(
        params,
        DATASETS,
        raw / "demo.zip",
        raw / "demo_truth.parquet",
        raw / "demo_images",
        image_ref=IMAGE_REF,
    )
    return summary, raw


def _table(archive: zipfile.ZipFile, name: str) -> list[dict[str, str]]:
    text = archive.read(name).decode("utf-8")
    return list(csv.DictReader(io.StringIO(text), delimiter="\t", quoting=csv.QUOTE_NONE))


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    root = tmp_path_factory.mktemp("demo")
    summary, raw = _build(root)
    with zipfile.ZipFile(raw / "demo.zip") as archive:
        occurrences = _table(archive, "occurrence.txt")
        multimedia = _table(archive, "multimedia.txt")
        meta = ET.fromstring(archive.read("meta.xml"))
        members = archive.namelist()
    return {
        "root": root,
        "raw": raw,
        "summary": summary,
        "occ": occurrences,
        "media": multimedia,
        "meta": meta,
        "members": members,
    }


def _clean(rows):
    return [r for r in rows if not r["occurrenceRemarks"]]


def _noise(rows, kind):
    return [r for r in rows if r["occurrenceRemarks"] == f"geoloc demo noise: {kind}"]


def test_meta_xml_describes_the_files_by_real_term_uris(built):
    meta, raw = built["meta"], built["raw"]
    assert {"meta.xml", "occurrence.txt", "multimedia.txt", "metadata.xml"} <= set(built["members"])
    core = meta.find(f"{TEXT}core")
    assert core.get("rowType") == "http://rs.tdwg.org/dwc/terms/Occurrence"
    assert core.find(f"{TEXT}files/{TEXT}location").text == "occurrence.txt"
    assert core.get("fieldsTerminatedBy") == "\\t" and core.get("fieldsEnclosedBy") == ""
    assert core.get("ignoreHeaderLines") == "1"
    assert core.find(f"{TEXT}id").get("index") == "0"
    terms = {f.get("term"): int(f.get("index")) for f in core.findall(f"{TEXT}field")}
    assert not [t for t in REQUIRED_TERMS if t not in terms]
    with zipfile.ZipFile(raw / "demo.zip") as archive:
        header = archive.read("occurrence.txt").decode().split("\n", 1)[0].split("\t")
        lines = archive.read("occurrence.txt").decode().rstrip("\n").split("\n")
    # header names are the terms' local names, in meta.xml's index order
    assert header == [t.rsplit("/", 1)[1] for t, _ in sorted(terms.items(), key=lambda x: x[1])]
    assert {len(line.split("\t")) for line in lines} == {len(header)}
    ext = meta.find(f"{TEXT}extension")
    assert ext.get("rowType") == "http://rs.gbif.org/terms/1.0/Multimedia"
    assert ext.find(f"{TEXT}coreid").get("index") == "0"
    ext_terms = [f.get("term") for f in ext.findall(f"{TEXT}field")]
    assert "http://purl.org/dc/terms/identifier" in ext_terms
    assert b"simulated" in zipfile.ZipFile(raw / "demo.zip").read("metadata.xml")


def test_every_kept_observation_has_readable_photos_by_relative_path(built):
    root, occ, media = built["root"], built["occ"], built["media"]
    by_id: dict[str, list[str]] = {}
    for m in media:
        assert m["type"] == "StillImage" and m["format"] == "image/jpeg"
        assert m["identifier"].startswith(IMAGE_REF + "/")
        by_id.setdefault(m["gbifID"], []).append(m["identifier"])
    for r in _clean(occ):
        assert by_id.get(r["gbifID"]), r["gbifID"]
    assert any(len(v) > 1 for v in by_id.values())  # some observations have two photos
    assert set(by_id) <= {r["gbifID"] for r in occ}
    paths = [root / ident for idents in by_id.values() for ident in idents]
    assert all(p.is_file() for p in paths)
    assert len(paths) == built["summary"].images == len(list(built["raw"].glob("demo_images/*")))
    with Image.open(paths[0]) as image:
        assert image.format == "JPEG" and image.size == (32, 32)


def test_clean_rows_pass_every_rule_and_abundance_is_imbalanced(built):
    clean = _clean(built["occ"])
    assert len(clean) == 3 * 60 == sum(built["summary"].clean.values())
    lat = np.array([float(r["decimalLatitude"]) for r in clean])
    lon = np.array([float(r["decimalLongitude"]) for r in clean])
    assert in_france(lat, lon).all()
    for r in clean:
        assert r["countryCode"] == "FR" and r["basisOfRecord"] == "HUMAN_OBSERVATION"
        assert r["taxonRank"] == "SPECIES" and r["speciesKey"] and r["mediaType"] == "StillImage"
        assert float(r["coordinateUncertaintyInMeters"]) <= 1000
        assert not set(r["issue"].split(";")) & REJECT
    groups = {"plants": ("kingdom", "Plantae"), "mushrooms": ("kingdom", "Fungi")}
    groups["arthropods"] = ("phylum", "Arthropoda")
    for name, (rank, taxon) in groups.items():
        rows = [r for r in clean if r[rank] == taxon]
        assert len(rows) == 60, name
        counts = sorted(np.unique([r["speciesKey"] for r in rows], return_counts=True)[1].tolist())
        assert len(counts) == 4 and 3 <= counts[0] <= 5 and counts[-1] > 5  # rare tail + common
        assert len({r["family"] for r in rows}) == 2
        assert all(len(r["species"].split()) == 2 for r in rows)


def test_each_noise_kind_is_present_and_breaks_a_filter_rule(built):
    occ, media = built["occ"], built["media"]
    clean = _clean(occ)
    for kind in NOISE_KINDS:
        assert len(_noise(occ, kind)) >= 3, kind  # at least once per dataset
    assert built["summary"].noise == {k: len(_noise(occ, k)) for k in NOISE_KINDS}
    for r in _noise(occ, "outside_country"):
        lat, lon = float(r["decimalLatitude"]), float(r["decimalLongitude"])
        assert r["countryCode"] != "FR" and not in_france(np.array([lat]), np.array([lon]))[0]
    for kind in ("missing_coordinates", "coordinate_invalid"):
        assert all(
            r["decimalLatitude"] == "" and r["hasCoordinate"] == "false" for r in _noise(occ, kind)
        )
    assert all(
        float(r["coordinateUncertaintyInMeters"]) > 1000 for r in _noise(occ, "large_uncertainty")
    )
    assert all(r["taxonRank"] == "GENUS" and not r["speciesKey"] for r in _noise(occ, "genus_rank"))
    assert all(r["taxonRank"] == "SUBSPECIES" for r in _noise(occ, "subspecies_rank"))
    assert all("ZERO_COORDINATE" in r["issue"] for r in _noise(occ, "zero_coordinate"))
    assert all(abs(float(r["decimalLatitude"])) > 90 for r in _noise(occ, "out_of_range"))
    assert all(r["basisOfRecord"] != "HUMAN_OBSERVATION" for r in _noise(occ, "basis_of_record"))
    assert all(r["phylum"] == "Chordata" for r in _noise(occ, "other_taxon"))
    with_media = {m["gbifID"] for m in media}
    assert not [r for r in _noise(occ, "no_image") if r["gbifID"] in with_media]
    key = ("speciesKey", "decimalLatitude", "decimalLongitude", "recordedBy")
    originals = {(*[r[k] for k in key], r["eventDate"][:10]) for r in clean}
    for r in _noise(occ, "duplicate"):
        assert (*[r[k] for k in key], r["eventDate"][:10]) in originals
    assert len({r["gbifID"] for r in occ}) == len(occ)


def test_truth_table_schema_and_observations_fall_in_true_ranges(built):
    truth = pq.read_table(built["raw"] / "demo_truth.parquet")
    assert [(f.name, str(f.type)) for f in truth.schema] == [
        ("dataset", "string"),
        ("species_key", "int64"),
        ("species", "string"),
        ("lat", "double"),
        ("lon", "double"),
        ("suitability", "float"),
        ("present", "bool"),
    ]
    t = truth.to_pandas()
    assert set(t.dataset) == set(DATASETS)
    assert in_france(t.lat.to_numpy(), t.lon.to_numpy()).all()
    assert t.suitability.between(0, 1).all()
    assert (t.present == (t.suitability >= 0.5)).all()
    clean = _clean(built["occ"])
    assert set(t.species_key) == {int(r["speciesKey"]) for r in clean}
    hits = []
    for key, cells in t.groupby("species_key"):
        assert 0 < cells.present.mean() < 1  # a real range, not everywhere or nowhere
        rows = [r for r in clean if int(r["speciesKey"]) == key]
        for r in rows:
            d = (cells.lat - float(r["decimalLatitude"])) ** 2 + (
                (cells.lon - float(r["decimalLongitude"])) * 0.69
            ) ** 2
            hits.append(bool(cells.present.to_numpy()[d.to_numpy().argmin()]))
    assert np.mean(hits) > 0.8


def _digest(raw: Path) -> str:
    h = hashlib.sha256()
    for path in sorted(p for p in raw.rglob("*") if p.is_file()):
        h.update(path.relative_to(raw).as_posix().encode() + path.read_bytes())
    return h.hexdigest()


def test_same_params_same_bytes_other_seed_other_data(built, tmp_path):
    _, again = _build(tmp_path / "a")
    assert _digest(again) == _digest(built["raw"])
    _, other = _build(tmp_path / "b", seed=1, noise_fraction=0.0)
    assert (other / "demo.zip").read_bytes() != (built["raw"] / "demo.zip").read_bytes()


def test_failed_build_leaves_previous_outputs_untouched(built, tmp_path, monkeypatch):
    _, raw = _build(tmp_path, noise_fraction=0.0)
    before = _digest(raw)
    calls = iter(range(10))

    def broken(*args, **kwargs):
        if next(calls, None) is None:
            raise RuntimeError("disk full")
        return Image.new("RGB", (32, 32))

    monkeypatch.setattr(demo_mod.photos, "draw_photo", broken)
    with pytest.raises(RuntimeError):
        _build(tmp_path, seed=5)
    assert _digest(raw) == before
    assert sorted(p.name for p in raw.iterdir()) == [
        "demo.zip",
        "demo_images",
        "demo_truth.parquet",
    ]


def test_other_taxon_noise_stays_outside_the_configured_groups():
    assert outsider_taxon(DATASETS)[0][2] == "Aves"
    assert outsider_taxon({"birds": {"class": "Aves"}})[0][1] == "Mollusca"


@pytest.mark.parametrize(
    ("change", "fragment"),
    [
        ({"observations": 10}, "demo.observations"),
        ({"rare_observations": [9, 3]}, "demo.rare_observations"),
        ({"families_per_dataset": 9}, "demo.families_per_dataset"),
        ({"image_size": 4}, "demo.image_size"),
        ({"noise_fraction": 2}, "demo.noise_fraction"),
        ({"colour": "red"}, "unknown key"),
    ],
)
def test_bad_demo_params_name_the_key(change, fragment):
    with pytest.raises(GeolocError, match=fragment.replace(".", r"\.")):
        parse_params({"demo": TINY | change})


def test_cli_writes_the_demo_and_reports_bad_params(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "params.yaml").write_text(
        "demo: {seed: 3, species_per_dataset: 2, families_per_dataset: 1, observations: 12, "
        "rare_observations: [2, 3], image_size: 16, truth_grid_km: 80}\n"
        "data: {datasets: {beetles: {class: Insecta}}}\n"
    )
    result = CliRunner().invoke(cli, ["demo", "--out", "out"])
    assert result.exit_code == 0, result.output
    assert "2 virtual species" in result.output
    with zipfile.ZipFile("out/demo.zip") as archive:
        rows = _clean(_table(archive, "occurrence.txt"))
        media = _table(archive, "multimedia.txt")
    assert {r["class"] for r in rows} == {"Insecta"} and len(rows) == 12
    assert all(Path(m["identifier"]).is_file() for m in media)  # relative to the cwd
    (tmp_path / "bad.yaml").write_text("demo: {observations: -1}\n")
    bad = CliRunner().invoke(cli, ["demo", "--params", "bad.yaml", "--out", "out2"])
    assert bad.exit_code == 1 and "demo.observations" in bad.output
    assert "Traceback" not in bad.output and not Path("out2").exists()
