"""What evaluate@<ds> wrote (results/evaluate/<ds>/), read for the report: the per-species table,
the summary, and the maps of at most MAP_SPECIES species, read without loading the rest."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from geoloc.report.results import dataset_folders

MAP_SPECIES = 3  # species mapped per dataset, whatever maps.parquet holds


@dataclass
class SdmResults:
    """One dataset's SDM results (maps/grid may be empty tables)."""

    dataset: str
    per_species: pd.DataFrame
    summary: dict
    maps: pd.DataFrame
    embedding_grid: pd.DataFrame

    @property
    def sets(self) -> list[str]:
        return list(self.summary["sets"])

    @property
    def has_truth(self) -> bool:
        return any("truth_auc" in stats for stats in self.summary["sets"].values())

    @property
    def evaluated(self) -> pd.DataFrame:
        """The species with enough records to be evaluated."""
        return self.per_species[~self.per_species["skipped"].astype(bool)]


def load_sdm_results(evaluate_dir: Path, datasets: list[str] | None = None) -> list[SdmResults]:
    """Every dataset folder under `evaluate_dir` with an SDM summary (`datasets` first)."""
    out = []
    for ds, folder in dataset_folders(evaluate_dir, "summary.json", datasets):
        if not (folder / "per_species.csv").is_file():
            continue
        grid = folder / "embedding_grid.parquet"
        out.append(
            SdmResults(
                dataset=ds,
                per_species=pd.read_csv(folder / "per_species.csv"),
                summary=json.loads((folder / "summary.json").read_text()),
                maps=read_maps(folder / "maps.parquet", MAP_SPECIES),
                embedding_grid=pd.read_parquet(grid) if grid.is_file() else pd.DataFrame(),
            )
        )
    return out


def read_maps(path: Path, n_species: int) -> pd.DataFrame:
    """The map rows of the first `n_species` species in the file (evaluate writes the most
    observed first), scanning only the species column of the others, batch by batch."""
    import pyarrow.parquet as pq

    if not path.is_file():
        return pd.DataFrame()
    table = pq.ParquetFile(path)
    if "species_key" not in table.schema_arrow.names:  # no species mapped
        return pd.DataFrame()
    keys: list = []
    for batch in table.iter_batches(columns=["species_key"]):
        for key in pd.unique(batch.column(0).to_numpy()):
            if key not in keys and len(keys) < n_species:
                keys.append(key)
        if len(keys) == n_species:
            break
    if not keys:
        return pd.DataFrame()
    return pd.read_parquet(path, filters=[("species_key", "in", keys)])


def best_baseline(res: SdmResults, prefix: str = "auc") -> str | None:
    """The non-`trained` set with the highest mean (the bar the trained encoder must clear)."""
    means = {
        s: st[prefix]["mean"]
        for s, st in res.summary["sets"].items()
        if s != "trained" and prefix in st and st[prefix]["mean"] is not None
    }
    return max(means, key=means.get) if means else None
