"""The train-identifier step: one dataset's embeddings and taxonomy in, the identifier model and
its test metrics out. The DVC stage `train-identifier@<ds>` and `geoloc train-identifier` both
call `run_train_identifier`."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from geoloc.errors import GeolocError
from geoloc.identify.train import Outcome, train_identifier
from geoloc.io import write_csv, write_json
from geoloc.layout import IdentifierPaths
from geoloc.params import Params
from geoloc.runtime import resolve_device, seed_everything


def run_train_identifier(params: Params, paths: IdentifierPaths) -> dict:
    """Train and evaluate the identifier with `identify:`; return the test metrics.

    Writes `paths.model_dir` (model.pt, meta.json, and encoder.pt when the location prior is on)
    and `paths.results` (metrics.json, report.json with the figures' data, per_class.csv).
    The prior needs `paths.encoder`; with None (or identify.prior.enabled false) there is none.
    """
    identify = params.identify
    seed_everything(identify.seed)
    table, taxonomy = read_inputs(paths, identify.rank)
    encoder = load_prior_encoder(paths.encoder) if identify.prior.enabled else None
    device = resolve_device(params.runtime.device)
    outcome = train_identifier(table, taxonomy, identify, encoder=encoder, device=device)
    write_outcome(outcome, paths, with_encoder=encoder is not None)
    return outcome.metrics


def read_inputs(paths: IdentifierPaths, rank: str):
    """(embedding table, taxonomy columns of the filtered table) for one dataset."""
    from geoloc.embed.store import read_embeddings

    if not Path(paths.observations).is_file():
        raise GeolocError(
            f"filtered table not found: {paths.observations} (run the filter stage first)"
        )
    table = read_embeddings(paths.embeddings, dtype=None)  # float16 as stored: batches convert
    columns = ["gbif_id", "species_key", "species", rank]
    return table, pd.read_parquet(paths.observations, columns=columns)


def load_prior_encoder(path: Path | None):
    """The location encoder the prior sits on, or None without a path."""
    if path is None:
        return None
    from geoloc.encoders.location_encoder import load_location_encoder

    if not Path(path).is_file():
        raise GeolocError(
            f"location encoder not found: {path} (run the train stage first, or set "
            "identify.prior.enabled=false)"
        )
    return load_location_encoder(path)


def write_outcome(outcome: Outcome, paths: IdentifierPaths, with_encoder: bool):
    """The model directory (with a copy of the encoder when the prior uses it) and the results."""
    outcome.model.save(paths.model_dir, paths.encoder if with_encoder else None)
    write_json(paths.results / "metrics.json", outcome.metrics)
    write_json(paths.results / "report.json", outcome.details)
    write_csv(outcome.per_class, paths.results / "per_class.csv")
