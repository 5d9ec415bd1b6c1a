"""`geoloc embed`: embed the photos of a filtered observation table into an HDF5 file."""

from __future__ import annotations

import json
from pathlib import Path

import click

from geoloc.entry import params_options
from geoloc.errors import GeolocError, exit_on_user_error

# option -> the param it is a shortcut for
SHORTCUTS = {
    "backbone": "embed.backbone",
    "image_size": "embed.image_size",
    "batch_size": "embed.batch_size",
    "workers": "embed.workers",
    "precision": "embed.precision",
    "device": "runtime.device",
}


@click.command("embed")
@click.option(
    "--dataset",
    help="A name of data.datasets: use the pipeline's files, as the stage embed@<ds> does "
    "(data/filtered/<ds>.parquet -> data/embeddings/<ds>.h5, work log .dvc/tmp/embed/<ds>).",
)
@click.option(
    "--input",
    "table",
    type=click.Path(path_type=Path),
    help="Filtered observations [default: the dataset's; required without --dataset].",
)
@click.option(
    "--out",
    type=click.Path(path_type=Path),
    help="Embedding file to write (.h5) [default: the dataset's; required without --dataset].",
)
@click.option(
    "--work-dir",
    type=click.Path(path_type=Path),
    help="Folder of the resumable work log [default: .dvc/tmp/embed/<ds> with --dataset and no "
    "--out, else a hidden folder beside --out: .<name>.work].",
)
@exit_on_user_error  # also for errors in --params / --set
@params_options
@click.option(
    "--backbone", help="Shortcut for --set embed.backbone=... (e.g. bioclip-2, a folder)."
)
@click.option("--image-size", type=int, help="Shortcut for --set embed.image_size=...")
@click.option("--batch-size", type=int, help="Shortcut for --set embed.batch_size=...")
@click.option(
    "--workers", type=int, help="Shortcut for --set embed.workers=... (fetch/decode threads)."
)
@click.option("--precision", type=click.Choice(["auto", "fp32", "fp16", "bf16"]),
              help="Shortcut for --set embed.precision=...")  # fmt: skip
@click.option("--device", help="Shortcut for --set runtime.device=... (auto, cpu, cuda, cuda:N).")
@click.option(
    "--retry-failed",
    is_flag=True,
    help="Retry ids that failed transiently (timeouts, 429, 5xx, no network) in earlier runs.",
)
@click.option("--no-progress", is_flag=True, help="No progress bar.")
def embed(dataset, table, out, work_dir, params, retry_failed, no_progress, **shortcuts):
    """Fetch, decode and embed every row's image_url; resumable (rerun to continue).

    Runs the same step as the DVC stage embed@<ds>. An interrupted run resumes where it stopped;
    ids already embedded, or that failed, are skipped. Launch with
    `torchrun --nproc_per_node N -m geoloc.cli embed ...` to shard the work across N processes
    (GPUs); rank 0 writes the file.
    """
    from geoloc.embed import run_embed
    from geoloc.entry import apply_overrides

    given = [f"{SHORTCUTS[k]}={json.dumps(v)}" for k, v in shortcuts.items() if v is not None]
    params = apply_overrides(params, given) if given else params
    run_embed(
        params,
        _paths(params, dataset, table, out, work_dir),
        retry_failed=retry_failed,
        progress=not no_progress,
    )


def _paths(params, dataset, table, out, work_dir):
    """The stage's paths for `dataset`, with the given ones swapped in; the work log follows
    --out unless --work-dir says otherwise."""
    from geoloc.embed.pipeline import work_beside
    from geoloc.layout import EmbedPaths, Layout

    if out is not None and work_dir is None:
        work_dir = work_beside(out)
    if dataset is None:
        if table is None or out is None:
            raise GeolocError("give --dataset, or both --input and --out")
        return EmbedPaths(table, out, work_dir)
    paths = Layout().embed(params.check_dataset(dataset))
    return paths.with_options(table=table, out=out, work=work_dir)
