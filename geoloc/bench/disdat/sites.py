"""A region's presence records as *sites*, the rows of the multi-species learners: the unique
record locations, which species were recorded at each, and which taxon groups.

A site is background for a species when a species of the same group was recorded there (the
target group, from group ids: `TargetGroups`), or of any group of its taxon (`taxon_group`), so
nothing is sites x species but the sparse presences. With random background the region's background points are appended as rows that
belong to every group, and record sites to none (only a species' own presences count there).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import sparse

from geoloc.bench.disdat.data import Region
from geoloc.sdm.multispecies import TargetGroups


@dataclass(frozen=True)
class Sites:
    first_record: np.ndarray  # (n_sites,) train_po row of each site's first record
    presence: sparse.csr_matrix  # (n_sites, S) 1 where species s was recorded at the site
    row_groups: np.ndarray  # (n_sites, G) bool: a record of group g at the site
    species_groups: np.ndarray  # (S, G) bool: species s is in group g (S: region.species)
    species_taxa: np.ndarray  # (S, G) bool: group g is of the taxon of species s's group

    @property
    def n_sites(self) -> int:
        return len(self.first_record)

    def fit_rows(self, background: str, n_background_points: int):
        """(presences, TargetGroups) of the fitting rows: the sites, then (random background)
        the region's background points."""
        if background == "target_group":
            return self.presence, TargetGroups(self.row_groups, self.species_groups)
        if background == "taxon_group":
            return self.presence, TargetGroups(self.row_groups, self.species_taxa)
        n_species, n_groups = self.species_groups.shape
        presence = sparse.vstack(
            [self.presence, sparse.csr_matrix((n_background_points, n_species))], format="csr"
        )
        row_groups = np.concatenate(
            [
                np.zeros((self.n_sites, n_groups), bool),
                np.ones((n_background_points, n_groups), bool),
            ]
        )
        return presence, TargetGroups(row_groups, self.species_groups)


def region_sites(region: Region) -> Sites:
    """The unique (lat, lon) of the region's presence records of its scored species."""
    species = region.species
    groups = list(region.groups)
    species_index = pd.Index(species)
    column = species_index.get_indexer(region.po["spid"])
    kept = np.flatnonzero(column >= 0)
    site, _ = pd.factorize(pd.MultiIndex.from_frame(region.po[["lat", "lon"]].iloc[kept]))
    n_sites = int(site.max()) + 1 if len(site) else 0
    first_record = np.full(n_sites, len(region.po), np.int64)
    np.minimum.at(first_record, site, kept)
    presence = sparse.csr_matrix(
        (np.ones(len(kept), np.float32), (site, column[kept])), shape=(n_sites, len(species))
    )
    presence.data[:] = 1.0  # a species recorded twice at one site is one presence
    species_group = np.array([groups.index(region.group_of(sp)) for sp in species])
    row_groups = np.zeros((n_sites, len(groups)), bool)
    row_groups[site, species_group[column[kept]]] = True
    species_groups = np.eye(len(groups), dtype=bool)[species_group]
    group_taxa = np.array([[g in region.taxon_mates(own) for g in groups] for own in groups])
    return Sites(first_record, presence, row_groups, species_groups, group_taxa[species_group])
