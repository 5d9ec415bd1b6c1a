"""One training run from files to files: embeddings HDF5 (one or several datasets) ->
encoder.pt + metrics.json + curves.

Shared by the `train` DVC stage and `geoloc train`. Only rank 0 writes outputs under DDP.
"""

from __future__ import annotations

import os
from pathlib import Path

from geoloc.embed.store import pool_embeddings
from geoloc.encoders.location_encoder import save_location_encoder
from geoloc.io import write_json
from geoloc.train import distributed
from geoloc.train.tracking import open_sinks
from geoloc.train.trainer import TrainResult, train_location_encoder


def train_from_embeddings(
    embeddings: list[str | Path],
    encoder_out: str | Path,
    metrics_out: str | Path,
    live_dir: str | Path,
    model_params,
    train_params,
    *,
    device: str = "auto",
    checkpoint_dir: str | Path | None = None,
    resume: bool = False,
    wandb: bool = False,
    name: str = "train",
) -> TrainResult:
    table = pool_embeddings(embeddings)
    is_main = int(os.environ.get("RANK", "0")) == 0  # before the process group exists
    sinks = None
    if is_main:
        config = {"model": model_params.model_dump(), "train": train_params.model_dump()}
        sinks = open_sinks(Path(live_dir), wandb=wandb, name=name, config=config)
    try:
        result = train_location_encoder(
            table.lat,
            table.lon,
            table.embedding,
            model_params,
            train_params,
            species_key=table.species_key,
            device=device,
            live=sinks,
            checkpoint_dir=checkpoint_dir,
            resume=resume,
        )
    finally:
        if sinks is not None:
            sinks.end()
    if distributed.context().is_main:
        save_location_encoder(result.encoder, encoder_out)
        write_json(metrics_out, result.metrics)
    distributed.cleanup()
    return result
