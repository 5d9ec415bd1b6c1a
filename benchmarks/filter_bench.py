"""Filter throughput and memory against the floor of just inflating occurrence.txt.

Builds (once, cached in benchmarks/.cache/) GBIF-shaped archives whose occurrence.txt has 241
columns laid out like a real download (the terms the filter reads sit at their real indices; about
64 non-empty fields and ~1.1 kB per row, as in a real iNaturalist download) plus a multimedia.txt
with one or two StillImages per record. Then, for each size, it times in fresh processes:
(a) the floor, reading occurrence.txt out of the zip and discarding it, and (b) `filter_archive`
over the same archive (both passes, all datasets, Parquet outputs), alternating floor and filter
runs (the CPU is shared). Peak RSS is each child's VmHWM.

    python benchmarks/filter_bench.py                 # 1 GiB and 2 GiB occurrence.txt
    python benchmarks/filter_bench.py --sizes-gib 0.2 # quick look
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
import zipfile
from collections.abc import Iterator
from pathlib import Path

import numpy as np

from geoloc.gbif.terms import DCTERMS, DWC, GBIF, MULTIMEDIA, OCCURRENCE
from geoloc.gbif.writer import ArchiveWriter, DataFile

CACHE = Path(__file__).resolve().parent / ".cache"
NCOLS = 241
# The columns the filter reads, at their index in a real GBIF download (0022697-200613084148143).
REAL_INDEX = {
    0: GBIF + "gbifID", 36: DCTERMS + "license", 42: DCTERMS + "references", 63: DWC + "basisOfRecord",
    67: DWC + "occurrenceID", 68: DWC + "catalogNumber", 70: DWC + "recordedBy",
    98: DWC + "eventDate", 120: DWC + "countryCode", 132: DWC + "decimalLatitude",
    133: DWC + "decimalLongitude", 134: DWC + "coordinateUncertaintyInMeters",
    190: DWC + "kingdom", 191: DWC + "phylum", 192: DWC + "class", 193: DWC + "order",
    194: DWC + "family", 195: DWC + "genus", 199: DWC + "taxonRank", 206: GBIF + "datasetKey",
    215: GBIF + "issue", 216: GBIF + "mediaType", 228: GBIF + "speciesKey", 229: GBIF + "species",
}  # fmt: skip
# Other populated columns: a value pool each, like the free text and codes of real rows.
FILLER_COLUMNS = [i for i in range(1, NCOLS) if i not in REAL_INDEX][::5]
GROUPS = [  # kingdom, phylum, class, share of rows
    ("Plantae", "Tracheophyta", "Magnoliopsida", 0.45),
    ("Fungi", "Basidiomycota", "Agaricomycetes", 0.12),
    ("Animalia", "Arthropoda", "Insecta", 0.28),
    ("Animalia", "Chordata", "Aves", 0.15),
]
ISSUES = ["", "COORDINATE_ROUNDED", "GEODETIC_DATUM_ASSUMED_WGS84;COORDINATE_ROUNDED",
          "ZERO_COORDINATE", "COUNTRY_COORDINATE_MISMATCH", "TAXON_MATCH_FUZZY"]  # fmt: skip
ISSUE_P = [0.5, 0.25, 0.2, 0.01, 0.01, 0.03]
ROWS_PER_CHUNK = 50_000


OCCURRENCE_FILE = DataFile(
    "occurrence.txt",
    OCCURRENCE,
    [
        (f"column{i}", REAL_INDEX.get(i, f"http://example.org/terms/column{i}"))
        for i in range(NCOLS)
    ],
)
MULTIMEDIA_FILE = DataFile(
    "multimedia.txt",
    MULTIMEDIA,
    [("gbifID", GBIF + "gbifID")]
    + [(name, DCTERMS + name) for name in ("type", "format", "identifier")],
)
FIRST_ID = 1_000_000_000


def _bodies(rng: np.random.Generator, n: int, pools: list[np.ndarray]) -> list[tuple[str, str]]:
    """n distinct row bodies, split around the per-row fields (gbifID and coordinates).

    Rows are assembled from these pre-rendered bodies plus fresh ids and coordinates, which
    keeps building gigabytes fast while no two rows are duplicates of each other.
    """
    group = rng.choice(len(GROUPS), n, p=[g[3] for g in GROUPS])
    species = (rng.zipf(1.3, n) % 3000) + 100 * group  # a few thousand species, long tail
    unc = rng.choice(["", "4", "12", "31", "150", "800", "2500", "20000"], n)
    country = rng.choice(["FR"] * 8 + ["BE", "ES"], n)
    basis = rng.choice(["HUMAN_OBSERVATION"] * 9 + ["PRESERVED_SPECIMEN"], n)
    rank = rng.choice(["SPECIES"] * 12 + ["GENUS", "SUBSPECIES"], n)
    issue = rng.choice(ISSUES, n, p=ISSUE_P)
    day = rng.integers(0, 3650, n)
    observer = rng.integers(0, 20_000, n)
    filler = [pool[rng.integers(0, len(pool), n)] for pool in pools]
    bodies = []
    fields = [""] * NCOLS
    for j in range(n):
        kingdom, phylum, klass, _ = GROUPS[group[j]]
        fields[36] = "CC_BY_NC_4_0"
        fields[42] = fields[67] = f"https://www.inaturalist.org/observations/{rng.integers(1e9)}"
        fields[63], fields[68] = basis[j], str(rng.integers(1e9))
        fields[70] = f"observer {observer[j]}"
        fields[98] = str(np.datetime64("2015-01-01") + day[j]) + "T10:21:00"
        fields[120], fields[134] = country[j], unc[j]
        fields[190:196] = [kingdom, phylum, klass, f"Order{group[j]}", f"Family{species[j] // 7}",
                           f"Genus{species[j] // 3}"]  # fmt: skip
        fields[199], fields[206] = rank[j], "50c9509d-22c7-4a22-a47d-8c48425ef4a7"
        fields[215], fields[216] = issue[j], "StillImage"
        fields[228], fields[229] = str(1_000_000 + species[j]), f"Species number{species[j]}"
        for column, values in zip(FILLER_COLUMNS, filler, strict=True):
            fields[column] = values[j]
        bodies.append(("\t".join(fields[1:132]), "\t".join(fields[134:])))
    return bodies


def _chunk(rng: np.random.Generator, first_id: int, n: int, bodies: list[tuple[str, str]]) -> str:
    """Occurrence lines for n records with ids from first_id."""
    ids = range(first_id, first_id + n)
    picks = rng.integers(0, len(bodies), n)
    lats = rng.uniform(42.3, 51.0, n).round(6).astype(str)
    lons = rng.uniform(-4.7, 8.2, n).round(6).astype(str)
    return "\n".join(
        f"{gid}\t{bodies[k][0]}\t{lat}\t{lon}\t{bodies[k][1]}"
        for gid, k, lat, lon in zip(ids, picks, lats, lons, strict=True)
    )


class _Occurrences:
    """Chunks of occurrence lines until `target` bytes are written; `end_id` is then one past the
    last record's id."""

    def __init__(self, rng: np.random.Generator, bodies: list[tuple[str, str]], target: int):
        self.rng, self.bodies, self.target = rng, bodies, target
        self.end_id = FIRST_ID

    def __iter__(self) -> Iterator[str]:
        written = 0
        while written < self.target:
            text = _chunk(self.rng, self.end_id, ROWS_PER_CHUNK, self.bodies)
            written += len(text) + 1
            self.end_id += ROWS_PER_CHUNK
            print(f"\r  built {written / 2**30:.2f} GiB", end="", file=sys.stderr)
            yield text


def _media(first_id: int, end_id: int) -> Iterator[str]:
    """One or two StillImages per record."""
    url = "https://inaturalist-open-data.s3.amazonaws.com/photos"
    for gid in range(first_id, end_id):
        for photo in range(1 + (gid % 3 == 0)):
            yield f"{gid}\tStillImage\timage/jpeg\t{url}/{gid * 2 + photo}/original.jpg"


def build(path: Path, size_gib: float, seed: int = 0) -> Path:
    """Write a GBIF-shaped archive whose occurrence.txt is at least size_gib uncompressed."""
    rng = np.random.default_rng(seed)
    words = [f"{w}{k}" for w in ("lorem", "ipsum", "dolor", "sit", "amet", "urn:lsid") for k in range(50)]  # fmt: skip
    pools = [
        np.array([" ".join(rng.choice(words, rng.integers(1, 4))) for _ in range(200)])
        for _ in FILLER_COLUMNS
    ]
    occurrences = _Occurrences(rng, _bodies(rng, 20_000, pools), int(size_gib * (1 << 30)))
    with ArchiveWriter(path) as archive:
        archive.add_table(OCCURRENCE_FILE, occurrences, large=True)
        archive.add_table(MULTIMEDIA_FILE, _media(FIRST_ID, occurrences.end_id), large=True)
        archive.write_descriptor()
    print(file=sys.stderr)
    return path


def archive_for(size_gib: float) -> Path:
    CACHE.mkdir(exist_ok=True)
    path = CACHE / f"occurrence-{size_gib:g}GiB.zip"
    return path if path.exists() else build(path, size_gib)


def floor(path: str) -> None:
    """Read occurrence.txt out of the zip and discard it (what any reader must at least do)."""
    with zipfile.ZipFile(path) as archive, archive.open("occurrence.txt") as stream:
        while stream.read(1 << 20):
            pass


def run_filter(path: str) -> None:
    from geoloc.gbif.filter import filter_archive
    from geoloc.params import DataParams

    params = DataParams(
        country="FR",
        datasets={
            "plants": {"kingdom": "Plantae"},
            "mushrooms": {"kingdom": "Fungi"},
            "arthropods": {"phylum": "Arthropoda"},
        },
    )
    with tempfile.TemporaryDirectory() as out:
        report = filter_archive(path, out, params)
    kept = {name: d["kept"] for name, d in report["datasets"].items()}
    print(f"rows {report['rows_read']} kept {kept}", file=sys.stderr)


def _peak_rss_gib() -> float:
    """This process's peak resident memory (VmHWM; ru_maxrss would include the parent's)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 2**20
    return float("nan")


def _child(mode: str, path: str) -> None:
    """Run one measurement in this fresh process and print wall s, CPU s and peak RSS."""
    work = {"floor": floor, "filter": run_filter}[mode]
    if mode == "filter":
        import geoloc.gbif.filter  # noqa: F401  (imports are not part of the throughput)
    usage = resource.getrusage(resource.RUSAGE_SELF)
    cpu, start = usage.ru_utime + usage.ru_stime, time.perf_counter()
    work(path)
    wall = time.perf_counter() - start
    usage = resource.getrusage(resource.RUSAGE_SELF)
    cpu = usage.ru_utime + usage.ru_stime - cpu
    print(json.dumps({"wall": wall, "cpu": cpu, "rss": _peak_rss_gib()}))


def measure(mode: str, path: Path) -> dict:
    """Wall seconds, CPU seconds and peak RSS (GiB) of `mode` run on `path` in a fresh process."""
    result = subprocess.run(
        [sys.executable, __file__, "--run", mode, str(path)],
        capture_output=True,
        text=True,
    )
    if result.returncode != 0:
        raise SystemExit(f"{mode} failed on {path}:\n{result.stderr[-2000:]}")
    return json.loads(result.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sizes-gib", type=float, nargs="+", default=[1.0, 2.0])
    parser.add_argument("--repeats", type=int, default=2, help="filter runs per size")
    parser.add_argument("--run", nargs=2, metavar=("MODE", "ARCHIVE"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.run:
        _child(*args.run)
        return
    print(f"machine: {os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f} at start")
    print(
        "| occurrence.txt | zip | floor s | filter s | filter/floor throughput "
        "| CPU s floor / filter | peak RSS floor / filter |"
    )
    print("|---|---|---|---|---|---|---|")
    for size in args.sizes_gib:
        path = archive_for(size)
        with zipfile.ZipFile(path) as archive:
            raw = archive.getinfo("occurrence.txt").file_size
        # The CPU is shared: floor and filter runs alternate, and each filter run is compared
        # with the mean of the two floor runs around it.
        floors, filters, ratios = [measure("floor", path)], [], []
        for _ in range(args.repeats):
            filters.append(measure("filter", path))
            floors.append(measure("floor", path))
            around = (floors[-2]["wall"] + floors[-1]["wall"]) / 2
            ratios.append(around / filters[-1]["wall"])
        floor_s = float(np.median([run["wall"] for run in floors]))
        filter_s = float(np.median([run["wall"] for run in filters]))
        mb = raw / 1e6
        print(
            f"| {raw / 2**30:.2f} GiB | {path.stat().st_size / 2**30:.2f} GiB "
            f"| {floor_s:.1f} ({mb / floor_s:.0f} MB/s) "
            f"| {filter_s:.1f} ({mb / filter_s:.0f} MB/s) "
            f"| {np.median(ratios):.2f} ({', '.join(f'{r:.2f}' for r in ratios)}) "
            f"| {np.median([r['cpu'] for r in floors]):.1f} / "
            f"{np.median([r['cpu'] for r in filters]):.1f} "
            f"| {max(r['rss'] for r in floors):.2f} / {max(r['rss'] for r in filters):.2f} GiB |",
            flush=True,
        )
    print(f"load average {os.getloadavg()[0]:.1f} at the end")


if __name__ == "__main__":
    main()
