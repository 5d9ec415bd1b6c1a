"""`geoloc train`: the `train` step on any embedding files, into a folder of your choice."""

from __future__ import annotations

from pathlib import Path

import click

from geoloc.entry import apply_overrides, params_options
from geoloc.errors import exit_on_user_error


@click.command("train")
@click.argument("embeddings", nargs=-1, required=True, type=click.Path(dir_okay=False))
@click.option(
    "--out",
    "out_dir",
    default="models/train",
    show_default=True,
    help="Folder for encoder.pt, metrics.json, live/ and checkpoints/.",
)
@click.option(
    "--resume/--no-resume",
    default=True,
    show_default=True,
    help="Continue an interrupted run from OUT/checkpoints when its checkpoint belongs to the "
    "same params, data and code, as the train stage does (a finished run leaves no checkpoint); "
    "--no-resume trains from scratch.",
)
@click.option("--device", default=None, help="Shortcut for --set runtime.device=DEVICE.")
@exit_on_user_error
@params_options
def train(embeddings, out_dir, resume, device, params):
    """Train a location encoder contrastively against the image embeddings in EMBEDDINGS
    (HDF5 files written by the embed stage, one or several datasets pooled), with the model:,
    train:, runtime: and logging: params. Works under `torchrun` (DDP)."""
    from geoloc.layout import TrainPaths
    from geoloc.train import run_train

    if device is not None:
        params = apply_overrides(params, [f"runtime.device={device}"])
    out = Path(out_dir)
    paths = TrainPaths([Path(e) for e in embeddings], out / "encoder.pt", out, out / "checkpoints")
    run_train(params, paths, resume=resume)  # prints its one-line summary
