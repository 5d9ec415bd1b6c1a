"""The built-in demo: a *virtual-species simulation* of iNaturalist-style observations in
metropolitan France, written as a GBIF Darwin Core Archive so the whole pipeline runs offline.

Every species is fictional. Its true range comes from a niche over smooth environmental layers
(`geoloc.sim.environment`, `geoloc.sim.taxa`); observations are drawn from suitability x observer effort (denser near
real cities); each observation has procedurally drawn photos (`geoloc.sim.photos`); and the archive
carries the kinds of bad rows a real GBIF download has, which the filter must remove. The true
suitability of every species on a grid is written beside it so later stages can score against
the truth.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import os
import shutil
import uuid
from collections import Counter
from dataclasses import dataclass
from functools import partial
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
from tqdm import tqdm

from geoloc.geometry import KM_PER_DEGREE
from geoloc.io import atomic_path
from geoloc.params import DemoParams
from geoloc.sim import archive, environment, photos
from geoloc.sim.noise import NOISE_KINDS, fmt, other_taxon, outsider_taxon
from geoloc.sim.taxa import RANKS, VirtualSpecies, build_species

DATASET_KEY = str(uuid.uuid5(uuid.NAMESPACE_URL, "geoloc:virtual-species-demo"))
DATASET_NAME = "geoloc virtual-species demo (simulated records, not real observations)"
DESCRIPTION = (
    "A virtual-species simulation built by `geoloc demo`: fictional species with environmental "
    "niches over metropolitan France, observations sampled from habitat suitability times "
    "observer effort near real cities, procedurally drawn photos, and GBIF-style noise rows. "
    "No record describes a real organism."
)
LICENSES = {
    "CC_BY_NC_4_0": "http://creativecommons.org/licenses/by-nc/4.0/",
    "CC_BY_4_0": "http://creativecommons.org/licenses/by/4.0/",
    "CC0_1_0": "http://creativecommons.org/publicdomain/zero/1.0/",
}
BENIGN_ISSUES = (
    "",
    "GEODETIC_DATUM_ASSUMED_WGS84",
    "COORDINATE_ROUNDED;GEODETIC_DATUM_ASSUMED_WGS84",
    "CONTINENT_DERIVED_FROM_COORDINATES",
)
PEAK_DAY = {"flower": (150, 45), "mushroom": (290, 25), "critter": (195, 45)}  # day of year, sd
TRUTH_SCHEMA = pa.schema(
    [
        ("dataset", pa.string()),
        ("species_key", pa.int64()),
        ("species", pa.string()),
        ("lat", pa.float64()),
        ("lon", pa.float64()),
        ("suitability", pa.float32()),
        ("present", pa.bool_()),
    ]
)


@dataclass
class DemoSummary:
    """What was written: rows meant to survive the filter per dataset, noise rows per kind."""

    clean: dict[str, int]
    noise: dict[str, int]
    species: int
    images: int
    truth_rows: int

    @property
    def rows(self) -> int:
        return sum(self.clean.values()) + sum(self.noise.values())


@dataclass
class _Row:
    record: dict[str, str]
    traits: dict
    n_images: int


def _sites(sp: VirtualSpecies, pool: tuple, rng) -> tuple[np.ndarray, np.ndarray]:
    """Observation sites of one species: pool points (already drawn from observer effort) picked
    in proportion to suitability squared, with a small leak outside the true range (vagrants,
    misidentifications), then moved by GPS-like jitter of a few hundred metres."""
    lat, lon, env = pool
    suit = sp.suitability(env)
    weight = suit**2 * np.where(suit >= 0.5, 1.0, 0.02)
    pick = rng.choice(lat.size, size=sp.n_obs, p=weight / weight.sum())
    jitter_km = rng.normal(0.0, 0.3, (2, sp.n_obs))
    new_lat = lat[pick] + jitter_km[0] / KM_PER_DEGREE
    new_lon = lon[pick] + jitter_km[1] / (KM_PER_DEGREE * np.cos(np.radians(lat[pick])))
    inside = environment.in_france(new_lat, new_lon)
    return np.where(inside, new_lat, lat[pick]), np.where(inside, new_lon, lon[pick])


def _clean_record(sp: VirtualSpecies, lat, lon, observer: str, rng) -> dict[str, str]:
    peak, spread = PEAK_DAY[sp.traits["style"]]
    year = int(rng.integers(2019, 2026))
    day_of_year = int(np.clip(rng.normal(peak, spread), 1, 365))
    date = dt.date(year, 1, 1) + dt.timedelta(days=day_of_year - 1)
    clock = (
        f"{int(rng.integers(7, 20)):02d}:{int(rng.integers(60)):02d}:{int(rng.integers(60)):02d}"
    )
    uncertainty = float(np.clip(np.round(rng.lognormal(np.log(25), 1.0)), 3, 1000))
    license_code = str(rng.choice(list(LICENSES), p=[0.7, 0.2, 0.1]))
    tax, keys = sp.taxonomy, sp.keys
    epithet = sp.species.split(" ", 1)[1]
    return {
        "license": license_code,
        "modified": f"{date.isoformat()}T{clock}Z",
        "rightsHolder": observer,
        "institutionCode": "geoloc",
        "collectionCode": "virtual-species-demo",
        "datasetName": DATASET_NAME,
        "basisOfRecord": "HUMAN_OBSERVATION",
        "recordedBy": observer,
        "occurrenceStatus": "PRESENT",
        "eventDate": f"{date.isoformat()}T{clock}",
        "year": str(date.year),
        "month": str(date.month),
        "day": str(date.day),
        "countryCode": "FR",
        "decimalLatitude": fmt(lat),
        "decimalLongitude": fmt(lon),
        "coordinateUncertaintyInMeters": fmt(uncertainty, 1),
        "scientificName": sp.species,
        **{rank: tax[rank] for rank in RANKS},
        **{f"{rank}Key": str(keys[rank]) for rank in RANKS},
        "specificEpithet": epithet,
        "taxonRank": "SPECIES",
        "taxonomicStatus": "ACCEPTED",
        "datasetKey": DATASET_KEY,
        "publishingCountry": "FR",
        "lastInterpreted": "2024-01-01T00:00:00.000Z",
        "issue": str(rng.choice(BENIGN_ISSUES)),
        "mediaType": "StillImage",
        "hasCoordinate": "true",
        "hasGeospatialIssues": "false",
        "taxonKey": str(sp.species_key),
        "acceptedTaxonKey": str(sp.species_key),
        "speciesKey": str(sp.species_key),
        "species": sp.species,
        "genericName": tax["genus"],
        "acceptedScientificName": sp.species,
    }


def simulate_rows(
    demo: DemoParams, species: list[VirtualSpecies], datasets: dict[str, dict[str, str]], rng
) -> list[_Row]:
    """Clean observations of every species plus `noise_fraction` noise rows per dataset, shuffled
    and numbered like a GBIF download (gbifID, catalogue number)."""
    total = sum(sp.n_obs for sp in species)
    pool_lat, pool_lon = environment.sample_in_france(rng, max(20_000, 8 * total))
    pool = (pool_lat, pool_lon, environment.environment(pool_lat, pool_lon))
    n_observers = max(5, total // 12)
    activity = 1.0 / np.arange(1, n_observers + 1) ** 1.1
    observers = rng.choice(n_observers, size=total, p=activity / activity.sum())
    rows: list[_Row] = []
    by_dataset: dict[str, list[_Row]] = {}
    for sp in species:
        lat, lon = _sites(sp, pool, rng)
        for la, lo in zip(lat, lon, strict=True):
            observer = f"demo_observer_{int(observers[len(rows)]):04d}"
            n_images = 1 + int(rng.random() < demo.extra_image_fraction)
            row = _Row(_clean_record(sp, la, lo, observer, rng), sp.traits, n_images)
            rows.append(row)
            by_dataset.setdefault(sp.dataset, []).append(row)
    kinds = list(NOISE_KINDS)
    noise_fns = NOISE_KINDS | {"other_taxon": partial(other_taxon, taxon=outsider_taxon(datasets))}
    for clean in by_dataset.values():
        for j in range(round(demo.noise_fraction * len(clean))):
            template = clean[int(rng.integers(len(clean)))]
            kind = kinds[j % len(kinds)]
            record = dict(template.record, occurrenceRemarks=f"geoloc demo noise: {kind}")
            noise_fns[kind](record, rng)
            n_images = 0 if kind == "no_image" else template.n_images
            rows.append(_Row(record, template.traits, n_images))
    rows = [rows[i] for i in rng.permutation(len(rows))]
    gbif_ids = 4_000_000_000 + np.cumsum(rng.integers(1, 5000, len(rows)))
    catalogue = 100_000_000 + np.cumsum(rng.integers(1, 300, len(rows)))
    for row, gbif_id, number in zip(rows, gbif_ids, catalogue, strict=True):
        row.record |= {
            "gbifID": str(gbif_id),
            "identifier": str(number),
            "catalogNumber": str(number),
            "occurrenceID": f"urn:geoloc-demo:occurrence:{number}",
        }
    return rows


def _multimedia(
    row: _Row, image_ref: str, names: dict[tuple[int, int], str]
) -> list[dict[str, str]]:
    r = row.record
    gbif_id = int(r["gbifID"])
    return [
        {
            "gbifID": r["gbifID"],
            "type": "StillImage",
            "format": "image/jpeg",
            "identifier": f"{image_ref}/{names[gbif_id, k]}",
            "created": r["eventDate"] + "Z",
            "creator": r["recordedBy"],
            "publisher": "geoloc virtual-species demo",
            "license": LICENSES[r["license"]],
            "rightsHolder": r["recordedBy"],
        }
        for k in range(row.n_images)
    ]


def _draw_images(
    rows: list[_Row], folder: Path, size: int, seed: int
) -> dict[tuple[int, int], str]:
    """Draw every photo; each one's randomness depends only on (seed, gbifID, index).

    File names carry a digest of the JPEG bytes, so a photo that changes gets a new URL in
    multimedia.txt: the archive changes with it and DVC re-embeds exactly what is new.
    """
    names = {}
    todo = [(row, k) for row in rows for k in range(row.n_images)]
    for row, k in tqdm(todo, desc="demo photos", unit="img", mininterval=2.0):
        gbif_id = int(row.record["gbifID"])
        rng = np.random.default_rng([seed, gbif_id, k])
        jpeg = photos.encode_jpeg(photos.draw_photo(row.traits, size, rng))
        names[gbif_id, k] = f"{gbif_id}_{k}_{hashlib.sha1(jpeg).hexdigest()[:10]}.jpg"
        (folder / names[gbif_id, k]).write_bytes(jpeg)
    return names


def truth_table(species: list[VirtualSpecies], lat: np.ndarray, lon: np.ndarray) -> pa.Table:
    """Long table of suitability and presence per truth-grid cell and species."""
    env = environment.environment(lat, lon)
    suits = [sp.suitability(env).astype(np.float32) for sp in species]
    n = lat.size
    columns = {
        "dataset": [sp.dataset for sp in species for _ in range(n)],
        "species_key": np.repeat([sp.species_key for sp in species], n).astype(np.int64),
        "species": [sp.species for sp in species for _ in range(n)],
        "lat": np.tile(lat, len(species)),
        "lon": np.tile(lon, len(species)),
        "suitability": np.concatenate(suits),
        "present": np.concatenate(suits) >= 0.5,
    }
    return pa.table(columns, schema=TRUTH_SCHEMA)


def _replace_dir(tmp: Path, final: Path) -> None:
    """Swap a completed directory into place so `final` is never half-written."""
    old = final.with_name(f".{final.name}.old-{os.getpid()}")
    if final.exists():
        os.replace(final, old)
    os.replace(tmp, final)
    shutil.rmtree(old, ignore_errors=True)


def build_demo(
    demo: DemoParams,
    datasets: dict[str, dict[str, str]],
    zip_path: str | os.PathLike,
    truth_path: str | os.PathLike,
    images_dir: str | os.PathLike,
    image_ref: str | None = None,
) -> DemoSummary:
    """Simulate and write the demo archive, its photos and the truth table.

    `datasets` is params `data.datasets` (name -> {rank: taxon}); one group of virtual species is
    made per dataset. Photos go to `images_dir` and multimedia.txt refers to them as
    `<image_ref>/<gbifID>_<k>_<digest>.jpg` (default: `images_dir` as given, i.e. relative to the working
    directory when `images_dir` is relative). Same params, same bytes.
    """
    zip_path, truth_path, images_dir = Path(zip_path), Path(truth_path), Path(images_dir)
    image_ref = image_ref if image_ref is not None else images_dir.as_posix()
    rng = np.random.default_rng(demo.seed)
    grid_lat, grid_lon = environment.france_grid(demo.truth_grid_km)
    species = build_species(
        datasets,
        demo.species_per_dataset,
        demo.families_per_dataset,
        demo.observations,
        demo.rare_fraction,
        demo.rare_observations,
        environment.environment(grid_lat, grid_lon),
        rng,
    )
    rows = simulate_rows(demo, species, datasets, rng)

    images_dir.parent.mkdir(parents=True, exist_ok=True)
    tmp_dir = images_dir.with_name(f".{images_dir.name}.tmp-{os.getpid()}")
    shutil.rmtree(tmp_dir, ignore_errors=True)
    tmp_dir.mkdir()
    try:
        image_names = _draw_images(rows, tmp_dir, demo.image_size, demo.seed)
        _replace_dir(tmp_dir, images_dir)
    finally:
        shutil.rmtree(tmp_dir, ignore_errors=True)
    truth = truth_table(species, grid_lat, grid_lon)
    with atomic_path(truth_path) as tmp:
        pq.write_table(truth, tmp)
    occurrences = [row.record for row in rows]
    multimedia = [m for row in rows for m in _multimedia(row, image_ref, image_names)]
    archive.write_archive(zip_path, occurrences, multimedia, DATASET_NAME, DESCRIPTION)

    noise = Counter(
        r.record["occurrenceRemarks"].rsplit(": ", 1)[1]
        for r in rows
        if r.record.get("occurrenceRemarks")
    )
    clean = Counter(sp.dataset for sp in species for _ in range(sp.n_obs))
    return DemoSummary(
        clean=dict(clean),
        noise={kind: noise.get(kind, 0) for kind in NOISE_KINDS},
        species=len(species),
        images=len(image_names),
        truth_rows=truth.num_rows,
    )
