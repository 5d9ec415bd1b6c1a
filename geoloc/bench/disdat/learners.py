"""Learners of the DISDAT benchmark: names, ensembles, and one member's scores of the survey
sites under either background.

A learner name is a member or an ensemble of members joined by `+`, each optionally weighted
(`0.6*maxent+0.4*rf_downsampled`; no weights: equal) and given options after colons
(`logistic:C=0.1`, `maxent:seeds=3`). Members are the names of geoloc.registry.LEARNERS. An
ensemble is the weighted mean of its members' ranks over the sites a species is scored on.

Background (`--background`):
- `target_group` (default): a species' background is where its taxon group was recorded.
  Per-species learners fit on the group's presence records, a species' model taking every other
  record of the group as background (geoloc.sdm.background's target-group definition, the whole
  group drawn); multi-species learners (`shares_species`) fit one network per region on the
  unique record sites with the group-id mask (geoloc.bench.disdat.sites).
- `taxon_group`: the same, with the records of every survey group of the species' taxon
  (`Region.taxon_mates`: NSW's eight survey groups pooled into bats, birds, plants and reptiles,
  as DeepMaxent's benchmark code does; elsewhere the same as `target_group`). A species is
  still scored on its own group's survey sites.
- `random`: the region's random background points, for every species.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import sparse
from scipy.stats import rankdata

from geoloc.bench.disdat.data import Region
from geoloc.bench.disdat.sites import Sites
from geoloc.errors import GeolocError
from geoloc.registry import LEARNERS

BACKGROUNDS = ("target_group", "taxon_group", "random")


@dataclass(frozen=True)
class Member:
    name: str  # a geoloc.registry.LEARNERS name
    options: tuple[tuple[str, float | int | str], ...] = ()

    @property
    def label(self) -> str:
        return ":".join([self.name, *(f"{key}={value}" for key, value in self.options)])

    def build(self, device: str, seed: int):
        from geoloc.sdm.learners import get_learner

        return get_learner(self.name, device=device, seed=seed, **dict(self.options))


@dataclass(frozen=True)
class Ensemble:
    label: str  # the name as given
    members: tuple[Member, ...]
    weights: tuple[float, ...]  # sum to 1


def parse_learner(label: str) -> Ensemble:
    """`0.6*maxent+0.4*logistic:C=0.1` -> Ensemble; a bad name or option is a user error."""
    members, weights = [], []
    for part in label.split("+"):
        weight, _, spec = part.rpartition("*")
        name, *options = spec.split(":")
        if name not in LEARNERS:
            raise GeolocError(
                f"bad learner {label!r}: {name!r} is none of {', '.join(LEARNERS.names())}; "
                "join several by '+', weigh them as 0.6*name, give options as name:key=value"
            )
        member = Member(name, tuple(_option(label, text) for text in options))
        member.build("cpu", 0)  # a bad option stops here, before any region is read
        members.append(member)
        weights.append(_number(label, weight) if weight else 1.0)
    if len(set(members)) != len(members) or min(weights) <= 0:
        raise GeolocError(f"bad learner {label!r}: members repeat or a weight is not positive")
    total = sum(weights)
    return Ensemble(label, tuple(members), tuple(w / total for w in weights))


def _option(label: str, text: str) -> tuple[str, float | int | str]:
    key, equals, value = text.partition("=")
    if not equals or not key:
        raise GeolocError(f"bad learner {label!r}: option {text!r} is not key=value")
    for cast in (int, float):
        try:
            return key, cast(value)
        except ValueError:
            pass
    return key, value


def _number(label: str, text: str) -> float:
    try:
        return float(text)
    except ValueError:
        raise GeolocError(f"bad learner {label!r}: weight {text!r} is not a number") from None


def check_background(name: str) -> str:
    if name not in BACKGROUNDS:
        raise GeolocError(f"unknown background {name!r}; use one of {', '.join(BACKGROUNDS)}")
    return name


def background_groups(region: Region, group: str, background: str) -> list[str]:
    """The survey groups whose records are the background of `group`'s species."""
    return region.taxon_mates(group) if background == "taxon_group" else [group]


def check_target_groups(region: Region, background: str = "target_group") -> None:
    """Target-group background needs, for every species, records of another species of its
    group (or taxon); a group of one species has none."""
    lonely = [
        group
        for group in region.groups
        if sum(len(region.groups[g]) for g in background_groups(region, group, background)) < 2
    ]
    if lonely:
        raise GeolocError(
            f"region {region.name}: group(s) {', '.join(lonely)} hold one species, so there is "
            f"no {background} background (records of other species of the group); run it "
            "with --background random"
        )


def rank_mean(predictions: list[np.ndarray], weights) -> np.ndarray:
    """Weighted mean of per-column ranks scaled to [0, 1]: members on different scales weigh
    as their weights say."""
    ranks = [rankdata(p, axis=0) / len(p) for p in predictions]
    return np.tensordot(np.asarray(weights), np.stack(ranks), axes=1)


def group_training(region: Region, group: str, background: str):
    """(rows of the training points (train_po then train_bg), targets, weights) of the
    per-species fit of `group`'s species, as sparse (rows, species) arrays; weights None:
    every row is in every species' model."""
    species = region.groups[group]
    pooled = [sp for g in background_groups(region, group, background) for sp in region.groups[g]]
    records = np.flatnonzero(region.po["spid"].isin(pooled).to_numpy())
    column = pd.Index(species).get_indexer(region.po["spid"].iloc[records])
    own = np.flatnonzero(column >= 0)
    n, k = len(records), len(species)
    presences = sparse.csr_array((np.ones(len(own), np.float32), (own, column[own])), shape=(n, k))
    if background != "random":  # every record of the group (taxon) is in every species' model
        return records, presences, None
    n_bg = len(region.bg)
    rows = np.concatenate([records, len(region.po) + np.arange(n_bg)])
    targets = sparse.vstack([presences, sparse.csr_array((n_bg, k))], format="csr")
    weights = sparse.vstack([presences, sparse.csr_array(np.ones((n_bg, k)))], format="csr")
    return rows, targets, weights


def fit_predict_group(
    member: Member,
    X: np.ndarray,
    region: Region,
    group: str,
    background: str = "target_group",
    seed: int = 0,
    held: list[int] | tuple[int, ...] = (),
    device: str = "cpu",
) -> np.ndarray:
    """Scores (n_group_sites, n_species) of a per-species learner for `group`'s species.

    `X` is the region's design: presence records first, then background points, then test sites.
    Columns in `held` are set, at prediction, to their mean over the group's presence records.
    """
    rows, targets, weights = group_training(region, group, background)
    model = member.build(device, seed)
    model.fit(X[rows], targets, sample_weight=weights)
    n_train = len(region.po) + len(region.bg)
    X_sites = X[n_train:][(region.pa["group"] == group).to_numpy()].copy()
    if held:  # the group's own records, also when its background pools its taxon's
        records = region.po["spid"].isin(region.groups[group]).to_numpy()
        X_sites[:, held] = X[: len(region.po)][records][:, held].mean(axis=0)
    return np.asarray(model.predict_proba(X_sites)).reshape(len(X_sites), -1)


def fit_predict_region(
    member: Member,
    X: np.ndarray,
    region: Region,
    sites: Sites,
    background: str = "target_group",
    seed: int = 0,
    device: str = "cpu",
) -> dict[str, np.ndarray]:
    """group -> scores (n_group_sites, n_species) of a multi-species learner fitted once for
    all species of the region on its record sites (`X` as for `fit_predict_group`)."""
    n_po, n_train = len(region.po), len(region.po) + len(region.bg)
    X_fit = X[sites.first_record]
    if background == "random":
        X_fit = np.concatenate([X_fit, X[n_po:n_train]])
    presence, groups = sites.fit_rows(background, n_train - n_po)
    model = member.build(device, seed).fit(X_fit, presence, groups=groups)
    scores = model.decision_function(X[n_train:])
    out, start = {}, 0
    for group, species in region.groups.items():
        at = (region.pa["group"] == group).to_numpy()
        out[group] = scores[at, start : start + len(species)]
        start += len(species)
    return out
