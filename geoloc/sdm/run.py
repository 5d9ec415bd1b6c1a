"""One dataset's SDM evaluation from files to files: filtered table (+ encoder, + truth) ->
metrics.json, per_species.csv, summary.json, auc_by_set.csv, maps.parquet, embedding_grid.parquet.
Shared by the `evaluate@<ds>` stage and `geoloc evaluate`."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from geoloc.errors import GeolocError
from geoloc.io import atomic_path, write_json
from geoloc.sdm.covariates import covariate_function
from geoloc.sdm.evaluate import SdmConfig, SdmResult, evaluate_sdm

OUTPUTS = (
    "metrics.json",
    "per_species.csv",
    "summary.json",
    "auc_by_set.csv",
    "maps.parquet",
    "embedding_grid.parquet",
)


def sdm_config(sdm_params) -> SdmConfig:
    """SdmConfig from params.yaml `sdm:`."""
    return SdmConfig(
        covariates=list(sdm_params.covariates),
        learner=sdm_params.learner,
        learner_options=dict(sdm_params.learner_options),
        block_km=sdm_params.block_km,
        folds=sdm_params.folds,
        background=sdm_params.background,
        min_presences=sdm_params.min_presences,
        map_species=sdm_params.map_species,
        bootstrap=sdm_params.bootstrap,
        seed=sdm_params.seed,
    )


def load_truth(path: str | Path | None, dataset: str) -> pd.DataFrame | None:
    """The dataset's rows of a demo truth table, or None (no file given, or no rows for it)."""
    if path is None:
        return None
    path = Path(path)
    if not path.is_file():
        raise GeolocError(f"truth table not found: {path}")
    truth = pd.read_parquet(path)
    missing = {"dataset", "species_key", "lat", "lon", "present"} - set(truth.columns)
    if missing:
        raise GeolocError(f"{path}: not a truth table, lacks {', '.join(sorted(missing))}")
    truth = truth[truth["dataset"] == dataset]
    return truth.reset_index(drop=True) if len(truth) else None


def run_sdm(
    dataset: str,
    *,
    observations_path: str | Path,
    encoder_path: str | Path | None,
    truth_path: str | Path | None,
    out_dir: str | Path,
    params,
    device: str = "cpu",
) -> dict:
    """Evaluate every covariate set of params.sdm on one dataset; write the outputs; metrics."""
    observations_path = Path(observations_path)
    if not observations_path.is_file():
        raise GeolocError(f"filtered table not found: {observations_path} (run the filter stage)")
    observations = pd.read_parquet(
        observations_path, columns=["lat", "lon", "species_key", "species"]
    )
    functions = {
        name: covariate_function(
            name,
            encoder_path=encoder_path,
            model_params=params.model,
            seed=params.sdm.seed,
            device=device,
        )
        for name in params.sdm.covariates
    }
    result = evaluate_sdm(
        observations,
        functions,
        sdm_config(params.sdm),
        truth=load_truth(truth_path, dataset),
        device=device,
    )
    write_outputs(result, out_dir)
    return result.metrics


def write_outputs(result: SdmResult, out_dir: str | Path) -> None:
    """Every file of OUTPUTS, each written atomically (empty tables where nothing applies)."""
    out_dir = Path(out_dir)
    write_json(out_dir / "metrics.json", result.metrics)
    write_json(out_dir / "summary.json", _jsonable(result.summary))
    _csv(result.per_species, out_dir / "per_species.csv")
    _csv(auc_by_set(result.summary), out_dir / "auc_by_set.csv")
    empty_grid = pd.DataFrame(
        {c: pd.Series(dtype="float32") for c in ("lat", "lon", "r", "g", "b")}
    )
    _parquet(result.maps, out_dir / "maps.parquet")
    grid = result.embedding_grid
    _parquet(empty_grid if grid is None else grid, out_dir / "embedding_grid.parquet")


def auc_by_set(summary: dict) -> pd.DataFrame:
    """One row per covariate set: mean AUC with CI (and truth AUC): the `dvc plots` table."""
    rows = []
    for name, stats in summary["sets"].items():
        row = {"set": name}
        for prefix, values in stats.items():
            row.update({f"{prefix}": values["mean"], f"{prefix}_median": values["median"]})
            row.update(
                {f"{prefix}_ci_low": values["ci_low"], f"{prefix}_ci_high": values["ci_high"]}
            )
        rows.append(row)
    return pd.DataFrame(rows)


def _csv(frame: pd.DataFrame, path: Path) -> None:
    with atomic_path(path) as tmp:
        frame.to_csv(tmp, index=False, float_format="%.5g")


def _parquet(frame: pd.DataFrame, path: Path) -> None:
    with atomic_path(path) as tmp:
        frame.to_parquet(tmp, index=False)


def _jsonable(value):
    """NaN -> None, numpy scalars -> Python, recursively (JSON has no NaN)."""
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    if isinstance(value, (float, np.floating)):
        return None if not np.isfinite(value) else float(value)
    if isinstance(value, np.integer):
        return int(value)
    return value
