"""The evaluate step, files to files: filtered table (+ encoder, + truth) -> metrics.json,
per_species.csv, summary.json, auc_by_set.csv, maps.parquet, embedding_grid.parquet.
The `evaluate@<ds>` stage and `geoloc evaluate` both call `run_evaluate`."""

from __future__ import annotations

import logging
from pathlib import Path

import pandas as pd

from geoloc.errors import GeolocError
from geoloc.io import write_csv, write_json, write_parquet
from geoloc.layout import EvaluatePaths
from geoloc.sdm.covariates import CovariateContext, covariate_function
from geoloc.sdm.evaluate import COLUMNS, SdmResult, evaluate_sdm
from geoloc.sdm.summary import auc_by_set
from geoloc.sdm.truth import load_truth

log = logging.getLogger(__name__)

OUTPUTS = (
    "metrics.json",
    "per_species.csv",
    "summary.json",
    "auc_by_set.csv",
    "maps.parquet",
    "embedding_grid.parquet",
)


def run_evaluate(params, paths: EvaluatePaths) -> dict:
    """Evaluate every covariate set of `params.sdm` on one dataset's files; write the outputs to
    `paths.out_dir`; return the metrics. Truth AUC is scored when `paths.truth` is given."""
    from geoloc.runtime import resolve_device, seed_everything

    seed_everything(params.sdm.seed)
    device = resolve_device(params.runtime.device)
    observations = read_observations(paths.observations)
    if paths.truth is None:
        log.warning("no truth table (data.archive is not the demo's): truth AUC not scored")
    context = CovariateContext(params.model, params.sdm.seed, device, paths.encoder)
    result = evaluate_sdm(
        observations,
        {name: covariate_function(name, context) for name in params.sdm.covariates},
        params.sdm,
        truth=load_truth(paths.truth, observations["species_key"].unique()),
        device=device,
    )
    write_outputs(result, paths.out_dir)
    return result.metrics


def read_observations(path: Path) -> pd.DataFrame:
    """The columns of a filtered table the SDMs need."""
    if not Path(path).is_file():
        raise GeolocError(f"filtered table not found: {path} (run the filter stage)")
    return pd.read_parquet(path, columns=list(COLUMNS))


def write_outputs(result: SdmResult, out_dir: str | Path) -> None:
    """Every file of OUTPUTS, each written atomically (empty tables where nothing applies)."""
    out_dir = Path(out_dir)
    write_json(out_dir / "metrics.json", result.metrics)
    write_json(out_dir / "summary.json", result.summary)
    write_csv(result.per_species, out_dir / "per_species.csv", float_format="%.5g")
    write_csv(auc_by_set(result.summary), out_dir / "auc_by_set.csv", float_format="%.5g")
    write_parquet(result.maps, out_dir / "maps.parquet")
    grid = result.embedding_grid
    if grid is None:
        grid = pd.DataFrame({c: pd.Series(dtype="float32") for c in ("lat", "lon", "r", "g", "b")})
    write_parquet(grid, out_dir / "embedding_grid.parquet")
