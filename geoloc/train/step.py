"""The `train` step: embedding files (one or several datasets, pooled) -> encoder.pt,
metrics.json and the dvclive curves.

The `train` DVC stage and `geoloc train` both call `run_train`; only their paths differ. A run
resumes from `paths.checkpoints` when a checkpoint of the same params, data and code is there.
Under torchrun every rank trains and rank 0 writes the outputs.
"""

from __future__ import annotations

from geoloc.embed.store import pool_embeddings
from geoloc.encoders.location_encoder import save_location_encoder
from geoloc.io import write_json
from geoloc.layout import TrainPaths
from geoloc.params import Params
from geoloc.runtime import distributed, resolve_device
from geoloc.train.tracking import open_sinks
from geoloc.train.trainer import train_location_encoder


def run_train(params: Params, paths: TrainPaths, *, resume: bool = True) -> dict:
    """Train one location encoder on every file of `paths.embeddings` with `model:` and
    `train:`; returns the metrics written to `paths.results`/metrics.json. `resume=False` trains
    from scratch even when a matching checkpoint exists."""
    table = pool_embeddings(paths.embeddings)
    device = resolve_device(params.runtime.device)
    with distributed(device) as dist:
        sinks = None
        if dist.is_main:
            config = {"model": params.model.model_dump(), "train": params.train.model_dump()}
            sinks = open_sinks(
                paths.results / "live",
                wandb=params.logging.wandb,
                name=paths.results.name,
                config=config,
            )
        try:
            result = train_location_encoder(
                table.lat,
                table.lon,
                table.embedding,
                params.model,
                params.train,
                species_key=table.species_key,
                device=dist.device,
                live=sinks,
                checkpoint_dir=paths.checkpoints,
                resume=resume,
            )
        finally:
            if sinks is not None:
                sinks.end()
        if dist.is_main:
            save_location_encoder(result.encoder, paths.encoder)
            write_json(paths.results / "metrics.json", result.metrics)
    return result.metrics
