"""DVC stage `train`: data/embeddings/<ds>.h5 of every dataset -> models/encoder.pt + metrics.

One location encoder learns from the observations of all datasets together: each taxon group's
ranges tell it about the same landscape, so every group's SDMs gain from the others' records
(on the demo this beats per-dataset encoders on truth AUC; README, "Training").
Checkpoints go to .dvc/tmp/train (not a DVC output, so `dvc repro` keeps them): a killed run
resumes where it stopped when params and data are unchanged. Launched through
`${runtime.launcher}`, so `torchrun --nproc_per_node N` trains with DDP.
"""

from __future__ import annotations

from pathlib import Path

import click

from geoloc.errors import exit_on_user_error
from geoloc.params import load_params
from geoloc.train.run import train_from_embeddings


@click.command()
@click.option("--params", "params_path", default="params.yaml", show_default=True)
@exit_on_user_error
def main(params_path: str) -> None:
    """Train the location encoder on every dataset of data.datasets with `model:` and `train:`."""
    params = load_params(params_path)
    results = Path("results") / "train"
    train_from_embeddings(
        [Path("data/embeddings") / f"{dataset}.h5" for dataset in params.data.datasets],
        Path("models") / "encoder.pt",
        results / "metrics.json",
        results / "live",
        params.model,
        params.train,
        device=params.runtime.device,
        checkpoint_dir=Path(".dvc/tmp/train"),
        resume=True,
        wandb=params.logging.wandb,
        name="train",
    )


if __name__ == "__main__":
    main()
