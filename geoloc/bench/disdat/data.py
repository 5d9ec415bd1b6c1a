"""Reader for the NCEAS presence-only / presence-absence benchmark format (Elith et al. 2020,
doi:10.17161/bi.v15i2.13384), as converted to Parquet for the `disdat` data folder.

A region folder holds `train_po.parquet` (presence records, one row per record, `spid` names the
species), `train_bg.parquet` (random background points), `test_pa.parquet` (one row per survey
site, one nullable 0/1 column per species: null where the site surveyed another group) and a
`metadata.json` (here or in the parent folder under `regions.<NAME>`) naming the environmental
columns, which of them are categorical, the group -> species lists and, optionally, each group's
taxon (`groups.<g>.taxon`: survey groups of one taxon can pool their records as background).
Nothing region-specific is hard-coded but the disdat package's NSW taxa (`PACKAGE_TAXA`, used
when the metadata names none), so a region never seen before loads the same way.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from geoloc.errors import GeolocError

REQUIRED_POINT_COLUMNS = ("lat", "lon")
TABLES = ("train_po", "train_bg", "test_pa")
# NSW's eight survey groups by taxon, as DeepMaxent's benchmark code (Ryckewaert et al. 2024)
# pools them for its target-group background; the other package regions' groups are taxa already
PACKAGE_TAXA = {
    "NSW": {
        "ba": "bats",
        "db": "birds",
        "nb": "birds",
        "ot": "plants",
        "ou": "plants",
        "rt": "plants",
        "ru": "plants",
        "sr": "reptiles",
    },
}


@dataclass
class Region:
    """One benchmark region: presence records, background points, survey sites and their schema."""

    name: str
    po: pd.DataFrame
    bg: pd.DataFrame
    pa: pd.DataFrame
    env_columns: list[str]
    categorical_columns: list[str]
    groups: dict[str, list[str]]
    taxa: dict[str, str] = field(default_factory=dict)  # group -> taxon; absent: its own

    @property
    def species(self) -> list[str]:
        """Species that have both presence records and a survey group, in group order."""
        return [sp for members in self.groups.values() for sp in members]

    def group_of(self, species: str) -> str:
        for group, members in self.groups.items():
            if species in members:
                return group
        raise GeolocError(f"region {self.name}: species {species!r} is in no group")

    def taxon_mates(self, group: str) -> list[str]:
        """The survey groups of `group`'s taxon, itself included: whose records form its
        species' `taxon_group` background."""
        taxon = self.taxa.get(group, group)
        return [g for g in self.groups if self.taxa.get(g, g) == taxon]

    def record_groups(self) -> np.ndarray:
        """(n_records,) taxon group of every presence record: train_po's `group` column, or
        else its species' group in the metadata ('' for a species in none)."""
        if "group" in self.po.columns:
            return self.po["group"].astype(str).to_numpy()
        group_of = {sp: group for group, members in self.groups.items() for sp in members}
        return self.po["spid"].map(group_of).fillna("").to_numpy()

    def presences(self, species: str) -> pd.DataFrame:
        return self.po[self.po["spid"] == species]

    def test_labels(self, species: str) -> tuple[np.ndarray, np.ndarray]:
        """(site mask, 0/1 labels at those sites) for one species.

        The null-group rule: a species is scored only at the sites of its own group where its column
        is not null; null means the site was surveyed for a different group, not an absence.
        """
        column = self.pa[species]
        mask = column.notna().to_numpy() & (self.pa["group"] == self.group_of(species)).to_numpy()
        labels = column[mask].astype(int).to_numpy()
        return mask, labels


def region_names(data_dir: str | Path) -> list[str]:
    """Sub-folders of `data_dir` that hold a region (a train_po.parquet), sorted."""
    data_dir = Path(data_dir)
    if not data_dir.is_dir():
        raise GeolocError(f"disdat data folder not found: {data_dir}")
    names = sorted(p.name for p in data_dir.iterdir() if (p / "train_po.parquet").is_file())
    if not names:
        raise GeolocError(f"{data_dir}: no region folders (a folder with train_po.parquet) found")
    return names


def region_metadata(region_dir: Path) -> dict:
    """The region's metadata: `<region>/metadata.json` or `regions.<NAME>` of the parent's file."""
    own = region_dir / "metadata.json"
    parent = region_dir.parent / "metadata.json"
    for path in (own, parent):
        if not path.is_file():
            continue
        try:
            meta = json.loads(path.read_text())
        except json.JSONDecodeError as err:
            raise GeolocError(f"{path}: not valid JSON: {err}") from None
        if "regions" in meta:
            meta = meta["regions"].get(region_dir.name)
            if meta is None:
                continue
        if "env_columns" not in meta or "groups" not in meta:
            raise GeolocError(f"{path}: metadata for {region_dir.name} lacks env_columns or groups")
        return meta
    raise GeolocError(
        f"no metadata for region {region_dir.name}: expected {own} or a 'regions' entry in {parent}"
    )


def _read_table(region_dir: Path, table: str, needed: list[str]) -> pd.DataFrame:
    path = region_dir / f"{table}.parquet"
    if not path.is_file():
        raise GeolocError(f"region {region_dir.name}: missing {path.name} in {region_dir}")
    frame = pd.read_parquet(path)
    missing = [c for c in needed if c not in frame.columns]
    if missing:
        raise GeolocError(f"{path}: missing column(s) {', '.join(missing)}")
    return frame.reset_index(drop=True)


def load_region(region_dir: str | Path) -> Region:
    """Load one region folder and check that its tables agree with its metadata."""
    region_dir = Path(region_dir)
    if not region_dir.is_dir():
        raise GeolocError(f"region folder not found: {region_dir}")
    meta = region_metadata(region_dir)
    env = list(meta["env_columns"])
    categorical = list(meta.get("categorical_columns", []))
    unknown = [c for c in categorical if c not in env]
    if unknown:
        raise GeolocError(f"region {region_dir.name}: categorical {unknown} not in env_columns")
    point_columns = [*REQUIRED_POINT_COLUMNS, *env]
    po = _read_table(region_dir, "train_po", ["spid", *point_columns])
    bg = _read_table(region_dir, "train_bg", point_columns)
    pa = _read_table(region_dir, "test_pa", ["group", *point_columns])
    po["spid"] = po["spid"].astype(str)
    pa["group"] = pa["group"].astype(str)

    groups: dict[str, list[str]] = {}
    taxa = dict(PACKAGE_TAXA.get(region_dir.name, {}))
    trained = set(po["spid"])
    for group, spec in meta["groups"].items():
        members = spec["species"] if isinstance(spec, dict) else list(spec)
        # a species needs presence records to fit and a survey column to be scored
        members = [sp for sp in members if sp in trained and sp in pa.columns]
        if members:
            groups[str(group)] = members
        if isinstance(spec, dict) and spec.get("taxon"):
            taxa[str(group)] = str(spec["taxon"])
    if not groups:
        raise GeolocError(f"region {region_dir.name}: no species with both presences and surveys")
    return Region(region_dir.name, po, bg, pa, env, categorical, groups, taxa)


class EnvTransform:
    """Environment covariates: continuous columns standardised, categorical columns one-hot.

    Fitted on the training points (presences + background). A category seen only at test sites
    gets all-zero indicators (the reference level), so unseen codes never break prediction.
    `quadratic=True` appends the squares of the standardised continuous columns (the classic
    linear + quadratic GLM design).
    """

    def __init__(self, env_columns: list[str], categorical_columns: list[str], quadratic=False):
        self.categorical = list(categorical_columns)
        self.continuous = [c for c in env_columns if c not in self.categorical]
        self.quadratic = quadratic

    def fit(self, frame: pd.DataFrame) -> EnvTransform:
        values = frame[self.continuous].to_numpy(np.float64)
        self.mean_ = values.mean(axis=0)
        std = values.std(axis=0)
        self.std_ = np.where(std > 0, std, 1.0)
        self.categories_ = {c: np.unique(frame[c].to_numpy()) for c in self.categorical}
        return self

    @property
    def feature_names(self) -> list[str]:
        names = list(self.continuous)
        if self.quadratic:
            names += [f"{c}^2" for c in self.continuous]
        for column, levels in self.categories_.items():
            names += [f"{column}={level}" for level in levels]
        return names

    def transform(self, frame: pd.DataFrame) -> np.ndarray:
        z = (frame[self.continuous].to_numpy(np.float64) - self.mean_) / self.std_
        parts = [z, z**2] if self.quadratic else [z]
        for column, levels in self.categories_.items():
            parts.append(frame[column].to_numpy()[:, None] == levels[None, :])
        return np.concatenate(parts, axis=1).astype(np.float32)
