"""DVC stage `train@<ds>`: data/embeddings/<ds>.h5 -> models/<ds>/encoder.pt + training metrics.

Checkpoints go to .dvc/tmp/train/<ds> (not a DVC output, so `dvc repro` keeps them): a killed
run resumes where it stopped when params and data are unchanged. Launched through
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
@click.option("--dataset", required=True, help="A dataset name from data.datasets.")
@exit_on_user_error
def main(params_path: str, dataset: str) -> None:
    """Train the location encoder of one dataset with the `model:` and `train:` sections."""
    params = load_params(params_path)
    params.check_dataset(dataset)
    results = Path("results") / dataset / "train"
    train_from_embeddings(
        Path("data/embeddings") / f"{dataset}.h5",
        Path("models") / dataset / "encoder.pt",
        results / "metrics.json",
        results / "live",
        params.model,
        params.train,
        device=params.runtime.device,
        checkpoint_dir=Path(".dvc/tmp/train") / dataset,
        resume=True,
        wandb=params.logging.wandb,
        name=f"train-{dataset}",
    )


if __name__ == "__main__":
    main()
