"""DVC stage `embed@<ds>`: data/filtered/<ds>.parquet -> data/embeddings/<ds>.h5.

Work in progress is logged under .dvc/tmp/embed (not a DVC output, so `dvc repro` does not delete
it before rerunning): an interrupted stage resumes where it stopped. Launched through
`${runtime.launcher}`, so `torchrun --nproc_per_node N` shards the images across N processes.
"""

from __future__ import annotations

from pathlib import Path

import click

from geoloc.embed.pipeline import run_embedding
from geoloc.errors import exit_on_user_error
from geoloc.params import load_params

WORK_ROOT = Path(".dvc/tmp/embed")


@click.command()
@click.option("--params", "params_path", default="params.yaml", show_default=True)
@click.option("--dataset", required=True, help="A dataset name from data.datasets.")
@exit_on_user_error
def main(params_path: str, dataset: str) -> None:
    """Embed one dataset's photos with the backbone named in the `embed:` section."""
    params = load_params(params_path)
    params.check_dataset(dataset)
    summary = run_embedding(
        Path("data/filtered") / f"{dataset}.parquet",
        Path("data/embeddings") / f"{dataset}.h5",
        params.embed,
        params.runtime.device,
        work_root=WORK_ROOT,
    )
    click.echo(str(summary), err=True)


if __name__ == "__main__":
    main()
