"""GBIF-style noise rows for the demo archive: each kind turns a copy of a clean record into a row
that one filter rule must drop (outside the country, no or bad coordinates, coarse uncertainty,
non-species rank, duplicate, rejected issue flag, other basisOfRecord, no image, other taxon).
Records are dicts of occurrence.txt column name -> string, edited in place.
"""

from __future__ import annotations

from geoloc.sim.taxa import RANKS

# Boxes well inside neighbouring countries: (countryCode, lat lo, lat hi, lon lo, lon hi).
NEIGHBOURS = (
    ("ES", 40.0, 41.8, -4.0, -0.5),
    ("IT", 43.6, 45.5, 8.5, 12.0),
    ("CH", 46.5, 47.4, 7.6, 9.3),
    ("DE", 48.8, 51.5, 8.6, 12.0),
    ("BE", 50.6, 51.0, 3.9, 5.5),
    ("GB", 51.3, 52.5, -2.0, 0.5),
)


def fmt(x: float, digits: int = 6) -> str:
    """A plain decimal, as GBIF writes numbers."""
    return f"{x:.{digits}f}"


def _add_issue(record: dict[str, str], *flags: str, geospatial: bool = True) -> None:
    present = [f for f in record["issue"].split(";") if f]
    record["issue"] = ";".join(sorted(set(present) | set(flags)))
    if geospatial:
        record["hasGeospatialIssues"] = "true"


def _neighbour_point(rng) -> tuple[str, float, float]:
    code, la0, la1, lo0, lo1 = NEIGHBOURS[int(rng.integers(len(NEIGHBOURS)))]
    return code, rng.uniform(la0, la1), rng.uniform(lo0, lo1)


def _no_coordinates(record: dict[str, str]) -> None:
    record |= {"decimalLatitude": "", "decimalLongitude": "", "hasCoordinate": "false"}
    record["coordinateUncertaintyInMeters"] = ""


# Noise kinds: each turns a copy of a clean record into a row the filter must drop.
def _outside_country(r, rng):
    code, lat, lon = _neighbour_point(rng)
    r |= {"countryCode": code, "decimalLatitude": fmt(lat), "decimalLongitude": fmt(lon)}


def _missing_coordinates(r, rng):
    _no_coordinates(r)


def _large_uncertainty(r, rng):
    r["coordinateUncertaintyInMeters"] = fmt(float(rng.choice([2000, 5000, 10000, 28417])), 1)


def _genus_rank(r, rng):
    r |= {"taxonRank": "GENUS", "scientificName": r["genus"], "specificEpithet": ""}
    r |= {"species": "", "speciesKey": "", "taxonKey": r["genusKey"]}
    r |= {"acceptedTaxonKey": r["genusKey"], "acceptedScientificName": r["genus"]}


def _subspecies_rank(r, rng):
    key = str(int(r["speciesKey"]) + 50_000_000)
    name = f"{r['species']} subsp. typica"
    r |= {"taxonRank": "SUBSPECIES", "infraspecificEpithet": "typica", "scientificName": name}
    r |= {"taxonKey": key, "acceptedTaxonKey": key, "acceptedScientificName": name}


def _duplicate(r, rng):
    day = r["eventDate"][:10]  # same species, place, day and observer; another upload time
    r["eventDate"] = f"{day}T{int(rng.integers(6, 21)):02d}:{int(rng.integers(60)):02d}:00"


def _zero_coordinate(r, rng):
    r |= {"decimalLatitude": "0.0", "decimalLongitude": "0.0"}
    _add_issue(r, "ZERO_COORDINATE", "COUNTRY_COORDINATE_MISMATCH")


def _coordinate_invalid(r, rng):
    _no_coordinates(r)
    _add_issue(r, "COORDINATE_INVALID")


def _country_mismatch(r, rng):
    _, lat, lon = _neighbour_point(rng)
    r |= {"decimalLatitude": fmt(lat), "decimalLongitude": fmt(lon)}
    _add_issue(r, "COUNTRY_COORDINATE_MISMATCH")


def _swapped_coordinate(r, rng):
    _add_issue(r, "PRESUMED_SWAPPED_COORDINATE")


def _out_of_range(r, rng):
    r["decimalLatitude"] = fmt(float(rng.uniform(91.0, 179.0)))
    r["hasCoordinate"] = "false"
    _add_issue(r, "COORDINATE_OUT_OF_RANGE")


def _basis_of_record(r, rng):
    r["basisOfRecord"] = str(
        rng.choice(["PRESERVED_SPECIMEN", "MACHINE_OBSERVATION", "MATERIAL_SAMPLE"])
    )


def _no_image(r, rng):
    r["mediaType"] = ""


# Taxa outside the configured groups, for the "other_taxon" noise rows (fictional genera and species).
OTHER_TAXA = (
    (
        ("Animalia", "Chordata", "Aves", "Passeriformes", "Simulavidae", "Simulavis"),
        ("1", "44", "212", "729", "98000001", "98000002"),
        ("Simulavis passerina", "98000003"),
    ),
    (
        ("Animalia", "Mollusca", "Gastropoda", "Simulimacida", "Simulimacidae", "Simulimax"),
        ("1", "52", "225", "98000011", "98000012", "98000013"),
        ("Simulimax hortensis", "98000014"),
    ),
)


def outsider_taxon(datasets: dict[str, dict[str, str]]) -> tuple:
    """The first of OTHER_TAXA that no configured dataset group contains."""
    for taxon in OTHER_TAXA:
        names = dict(zip(RANKS, taxon[0], strict=True))
        if not any(names.get(rank) == name for g in datasets.values() for rank, name in g.items()):
            return taxon
    return OTHER_TAXA[-1]


def other_taxon(r, rng, taxon=OTHER_TAXA[0]):
    """A taxon outside every configured group (a bird, or a snail if birds are configured)."""
    taxonomy, keys, (name, key) = taxon
    for rank, rank_name, rank_key in zip(RANKS, taxonomy, keys, strict=True):
        r[rank], r[f"{rank}Key"] = rank_name, rank_key
    r |= {"species": name, "scientificName": name, "acceptedScientificName": name}
    r |= {"speciesKey": key, "taxonKey": key, "acceptedTaxonKey": key}
    r |= {"specificEpithet": name.split()[1], "genericName": taxonomy[-1]}


NOISE_KINDS = {
    "outside_country": _outside_country,
    "missing_coordinates": _missing_coordinates,
    "large_uncertainty": _large_uncertainty,
    "genus_rank": _genus_rank,
    "subspecies_rank": _subspecies_rank,
    "duplicate": _duplicate,
    "zero_coordinate": _zero_coordinate,
    "coordinate_invalid": _coordinate_invalid,
    "country_mismatch": _country_mismatch,
    "swapped_coordinate": _swapped_coordinate,
    "out_of_range": _out_of_range,
    "basis_of_record": _basis_of_record,
    "no_image": _no_image,
    "other_taxon": other_taxon,
}
