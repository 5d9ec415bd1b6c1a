"""The `train` step: embedding files (one or several datasets, pooled) -> encoder.pt,
metrics.json and the dvclive curves.

The `train` DVC stage and `geoloc train` both call `run_train`; only their paths differ. The
embeddings are streamed from the files (geoloc.embed.store.EmbeddingRows), never loaded whole;
the presence objective reads only their locations and species, each file (dataset) being the
target group of its records.
An interrupted run resumes from `paths.checkpoints` when its checkpoint belongs to the same
params, data and code; a finished run leaves none, so a rerun trains afresh. Under torchrun every
rank trains and rank 0 writes the outputs and prints the one-line summary.
"""

from __future__ import annotations

import sys

import numpy as np

from geoloc.embed.store import EmbeddingRows
from geoloc.encoders.location_encoder import save_location_encoder
from geoloc.io import write_json
from geoloc.layout import TrainPaths
from geoloc.params import Params
from geoloc.runtime import distributed, resolve_device
from geoloc.train.tracking import open_sinks
from geoloc.train.trainer import TrainResult, train_on_rows


def run_train(params: Params, paths: TrainPaths, *, resume: bool = True) -> dict:
    """Train one location encoder on every file of `paths.embeddings` with `model:` and
    `train:`; returns the metrics written to `paths.results`/metrics.json. `resume=False` trains
    from scratch even when an interrupted run's checkpoint matches."""
    device = resolve_device(params.runtime.device)
    with EmbeddingRows(paths.embeddings) as rows, distributed(device) as dist:
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
            result = train_on_rows(
                rows,
                params.model,
                params.train,
                device=dist.device,
                live=sinks,
                checkpoint_dir=paths.checkpoints,
                resume=resume,
                groups=None if params.train.objective == "contrastive" else file_groups(paths),
            )
        finally:
            if sinks is not None:
                sinks.end()
        if dist.is_main:
            save_location_encoder(result.encoder, paths.encoder)
            write_json(paths.results / "metrics.json", result.metrics)
            print(summary(result, paths), file=sys.stderr)
    return result.metrics


def file_groups(paths: TrainPaths) -> np.ndarray:
    """The index of the embedding file (dataset) of every pooled row: its target group."""
    sizes = []
    for path in paths.embeddings:
        with EmbeddingRows([path]) as rows:
            sizes.append(len(rows))
    return np.repeat(np.arange(len(sizes)), sizes)


def summary(result: TrainResult, paths: TrainPaths) -> str:
    """One line for the end of a run: what was trained, how well, and where it went."""
    m = result.metrics
    retrieval = ""
    if "val_top10" in m:  # an objective with paired features
        retrieval = (
            f", val_top10 {m['val_top10']:.3f} "
            f"(untrained {m['val_top10_init']:.3f}, gallery of {m['n_gallery']:,}), "
            f"val_median_km {m['val_median_km']:.0f} (untrained {m['val_median_km_init']:.0f})"
        )
    return (
        f"trained {m['epochs']} epochs on {m['n_train']:,} records "
        f"({result.timing['loop_s']:.0f} s in the step loop): loss {m['loss']:.4g}, "
        f"val_loss {m['val_loss']:.4g}{retrieval} -> {paths.encoder}"
    )
