"""The virtual species of the demo: fictional taxonomy, an environmental niche (hence a true
range) per species, an imbalanced number of observations and a look shared within families.

Niches follow archetypes (alpine, coastal, Mediterranean, Atlantic, continental north-east, ...)
defined on the environmental layers of `geoloc.sim.environment`, so ranges are mountain belts, coastal strips or
climatic regions rather than boxes in latitude and longitude.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from geoloc.sim import photos

# Real higher taxa (with their GBIF keys) above the fictional orders, per configured taxon group.
# Arthropod families alternate between insects (6 legs) and arachnids (8 legs).
_LINEAGES: dict[tuple[str, str], list[list[tuple[str, str, int]]]] = {
    ("kingdom", "Plantae"): [
        [
            ("kingdom", "Plantae", 6),
            ("phylum", "Tracheophyta", 7707728),
            ("class", "Magnoliopsida", 220),
        ]
    ],
    ("kingdom", "Fungi"): [
        [("kingdom", "Fungi", 5), ("phylum", "Basidiomycota", 34), ("class", "Agaricomycetes", 186)]
    ],
    ("phylum", "Arthropoda"): [
        [("kingdom", "Animalia", 1), ("phylum", "Arthropoda", 54), ("class", "Insecta", 216)],
        [("kingdom", "Animalia", 1), ("phylum", "Arthropoda", 54), ("class", "Arachnida", 367)],
    ],
}
RANKS = ("kingdom", "phylum", "class", "order", "family", "genus")
_SYLLABLES = [
    "zor",
    "quel",
    "vix",
    "tam",
    "bry",
    "oph",
    "kel",
    "dra",
    "myn",
    "sul",
    "fen",
    "gor",
    "lix",
    "pra",
    "tov",
    "ulm",
    "yss",
    "cor",
    "nex",
    "pho",
    "rua",
    "bel",
    "cth",
    "sim",
    "vir",
    "tal",
    "mer",
    "gan",
]
_ENDINGS = {
    "flower": ("anthus", "ia", "ella", "opsis", "aria"),
    "mushroom": ("myces", "porus", "ella", "ina", "ula"),
    "critter": ("us", "ops", "ella", "ides", "era"),
}

# archetype -> (epithets, response terms). A term is (layer, shape, (centre lo, hi), width):
# "up" rises through the centre, "down" falls, "bell" peaks at it. Centres are drawn per species.
ARCHETYPES: dict[str, tuple[tuple[str, ...], list[tuple[str, str, tuple[float, float], float]]]] = {
    "alpine": (("alpicola", "nivalis"), [("elevation", "up", (1100, 1600), 150)]),
    "montane": (
        ("silvicola", "montana"),
        [("elevation", "bell", (650, 1000), 300), ("rainfall", "up", (800, 900), 100)],
    ),
    "coastal": (("litoralis", "maritima"), [("coast_km", "down", (10, 30), 6)]),
    "mediterranean": (
        ("meridionalis", "thermophila"),
        [("mediterranean", "up", (0.3, 0.5), 0.08), ("temperature", "up", (11.5, 12.5), 1.0)],
    ),
    "atlantic": (
        ("oceanica", "pluvialis"),
        [("rainfall", "up", (900, 1000), 70), ("elevation", "down", (400, 600), 100)],
    ),
    "continental": (
        ("orientalis", "rhenana"),
        [
            ("coast_km", "up", (300, 360), 30),
            ("rainfall", "down", (650, 750), 60),
            ("elevation", "down", (500, 700), 100),
        ],
    ),
    "warm_lowland": (
        ("campestris", "apricans"),
        [("temperature", "up", (11.5, 12.5), 0.7), ("elevation", "down", (300, 450), 80)],
    ),
    "cool": (("borealis", "frigida"), [("temperature", "down", (9.0, 10.0), 0.6)]),
    "inland": (
        ("mediana", "interior"),
        [("temperature", "bell", (9.5, 10.5), 1.5), ("coast_km", "up", (120, 180), 25)],
    ),
    "widespread": (("vulgaris", "communis"), [("temperature", "bell", (9.0, 12.0), 3.5)]),
}


@dataclass
class VirtualSpecies:
    """One fictional species: taxonomy and GBIF-style keys, niche, abundance and look."""

    dataset: str
    species_key: int
    species: str
    taxonomy: dict[str, str]  # rank -> name, kingdom..genus
    keys: dict[str, int]  # rank -> GBIF-style key, kingdom..genus
    archetype: str
    terms: list[tuple[str, str, float, float]]
    n_obs: int
    traits: dict
    scale: float = field(default=1.0)  # raw suitability that maps to 1 (the best truth-grid cell)

    def suitability(self, env: dict[str, np.ndarray]) -> np.ndarray:
        """Habitat suitability in [0, 1]; the true range is where it is at least 0.5."""
        raw = np.ones_like(env["temperature"])
        for layer, shape, centre, width in self.terms:
            z = (env[layer] - centre) / width
            if shape == "bell":
                raw = raw * np.exp(-0.5 * z**2)
            else:
                raw = raw / (1.0 + np.exp(-z if shape == "up" else z))
        return np.clip(raw / self.scale, 0.0, 1.0)


def _name(rng: np.random.Generator, ending: str, used: set[str]) -> str:
    while True:
        stem = "".join(_SYLLABLES[i] for i in rng.integers(len(_SYLLABLES), size=2))
        name = (stem + ending).capitalize()
        if name not in used:
            used.add(name)
            return name


def observation_counts(rng, n_species: int, total: int, rare_fraction: float, rare_range) -> list:
    """Per-species observation counts: a rare tail with `rare_range` observations each and a
    Zipf-like (1/rank) share of the rest for the common species, every common one above the tail."""
    n_rare = min(n_species - 1, round(n_species * rare_fraction))
    lo, hi = rare_range
    rare = [int(v) for v in rng.integers(lo, hi + 1, size=n_rare)]
    n_common = n_species - n_rare
    floor = hi + 1
    spare = total - sum(rare) - n_common * floor
    share = 1.0 / np.arange(1, n_common + 1)
    extra = np.floor(spare * share / share.sum()).astype(int)
    extra[: spare - int(extra.sum())] += 1  # largest shares take the rounding remainder
    counts = [floor + int(e) for e in extra] + rare
    return [counts[i] for i in rng.permutation(n_species)]


def _lineage(rank: str, taxon: str, family_index: int) -> list[tuple[str, str, int]]:
    """Fixed higher taxa for a dataset's group; an unknown group keeps its named rank and marks the
    ranks above it incertae sedis (as GBIF does)."""
    known = _LINEAGES.get((rank, taxon))
    if known:
        return known[family_index % len(known)]
    depth = RANKS.index(rank)
    return [(r, "incertae sedis", 0) for r in RANKS[:depth]] + [(rank, taxon, 0)]


def build_species(
    datasets: dict[str, dict[str, str]],
    species_per_dataset: int,
    families_per_dataset: int,
    observations: int,
    rare_fraction: float,
    rare_range: tuple[int, int],
    grid_env: dict[str, np.ndarray],
    rng: np.random.Generator,
) -> list[VirtualSpecies]:
    """All virtual species of every configured dataset, niches calibrated on the truth grid."""
    used: set[str] = set()
    next_key = iter(range(99_000_000, 100_000_000))
    species: list[VirtualSpecies] = []
    for ds_index, (dataset, group) in enumerate(datasets.items()):
        ((rank, taxon),) = group.items()
        n_fam = min(families_per_dataset, species_per_dataset)
        families = []
        for f in range(n_fam):
            lineage = _lineage(rank, taxon, f)
            taxonomy = {r: name for r, name, _ in lineage}
            keys = {r: key or next(next_key) for r, _, key in lineage}
            style = photos.style_for(taxonomy.get("kingdom", ""))
            legs = 8 if taxonomy.get("class") == "Arachnida" else 6
            order_ending = "ida" if legs == 8 else ("ptera" if style == "critter" else "ales")
            fam_ending = "idae" if style == "critter" else "aceae"
            stem = _name(rng, "", used)
            for r, ending in (("order", order_ending), ("family", fam_ending)):
                if r not in taxonomy:
                    taxonomy[r] = _name(rng, ending, used) if r == "order" else stem + ending
                    keys[r] = next(next_key)
            families.append((taxonomy, keys, photos.family_traits(rng, style, legs), style))
        counts = observation_counts(
            rng, species_per_dataset, observations, rare_fraction, rare_range
        )
        archetypes = list(ARCHETYPES)
        offset = int(rng.integers(len(archetypes)))
        genera: dict[tuple[int, int], tuple[str, int]] = {}
        for i in range(species_per_dataset):
            f = i % n_fam
            taxonomy, keys, fam_traits, style = families[f]
            taxonomy, keys = dict(taxonomy), dict(keys)
            genus_slot = (f, (i // n_fam) % 2)  # up to two genera per family
            if "genus" not in taxonomy:
                if genus_slot not in genera:
                    ending = _ENDINGS[style][int(rng.integers(len(_ENDINGS[style])))]
                    genera[genus_slot] = (_name(rng, ending, used), next(next_key))
                taxonomy["genus"], keys["genus"] = genera[genus_slot]
            archetype = archetypes[(i + offset) % len(archetypes)]
            epithets, spec = ARCHETYPES[archetype]
            name = f"{taxonomy['genus']} {epithets[int(rng.integers(len(epithets)))]}"
            while name in used:
                name = f"{taxonomy['genus']} {_name(rng, 'ensis', set()).lower()}"
            used.add(name)
            terms = [(layer, shape, float(rng.uniform(*c)), w) for layer, shape, c, w in spec]
            sp = VirtualSpecies(
                dataset=dataset,
                species_key=100_000_000 + 10_000 * ds_index + i,
                species=name,
                taxonomy=taxonomy,
                keys=keys,
                archetype=archetype,
                terms=terms,
                n_obs=counts[i],
                traits=photos.species_traits(rng, fam_traits),
            )
            sp.scale = float(sp.suitability(grid_env).max()) or 1.0
            species.append(sp)
    return species
