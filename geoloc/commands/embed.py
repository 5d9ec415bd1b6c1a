"""`geoloc embed`: embed the photos of a filtered observation table into an HDF5 file."""

from __future__ import annotations

from pathlib import Path

import click

from geoloc.errors import GeolocError, exit_on_user_error


@click.command("embed")
@click.option(
    "--input",
    "input_path",
    required=True,
    type=click.Path(path_type=Path),
    help="Filtered observations (data/filtered/<ds>.parquet).",
)
@click.option(
    "--out",
    required=True,
    type=click.Path(path_type=Path),
    help="Embedding file to write (data/embeddings/<ds>.h5).",
)
@click.option(
    "--params",
    "params_path",
    default="params.yaml",
    show_default=True,
    help="Read the embed: section and runtime.device from here (defaults if absent).",
)
@click.option("--backbone", help="Override embed.backbone (e.g. bioclip-2, or a folder).")
@click.option("--image-size", type=int, help="Override embed.image_size.")
@click.option("--batch-size", type=int, help="Override embed.batch_size.")
@click.option("--workers", type=int, help="Override embed.workers (fetch/decode threads).")
@click.option("--precision", type=click.Choice(["auto", "fp32", "fp16", "bf16"]))
@click.option("--device", help="Override runtime.device: auto, cpu, cuda, cuda:N.")
@click.option(
    "--retry-failed",
    is_flag=True,
    help="Retry ids that failed transiently (timeouts, 429, 5xx) in earlier runs.",
)
@click.option(
    "--work-dir",
    type=click.Path(path_type=Path),
    help="Where to log work in progress (default: a hidden folder beside --out).",
)
@click.option("--no-progress", is_flag=True, help="No progress bar.")
@exit_on_user_error
def embed(input_path, out, params_path, backbone, image_size, batch_size, workers, precision,
          device, retry_failed, work_dir, no_progress):  # fmt: skip
    """Fetch, decode and embed every row's image_url; resumable (rerun to continue).

    An interrupted run resumes where it stopped; ids already embedded, or that failed, are
    skipped. Launch with `torchrun --nproc_per_node N -m geoloc.cli embed ...` to shard the work
    across N processes (GPUs); rank 0 writes the file.
    """
    from geoloc.embed.pipeline import run_embedding
    from geoloc.params import Params, load_params, parse_params

    params = load_params(params_path) if Path(params_path).is_file() else Params()
    overrides = {
        "backbone": backbone, "image_size": image_size, "batch_size": batch_size,
        "workers": workers, "precision": precision,
    }  # fmt: skip
    raw = params.model_dump()
    raw["embed"].update({k: v for k, v in overrides.items() if v is not None})
    if device is not None:
        raw["runtime"]["device"] = device
    params = parse_params(raw, "options")
    if out.suffix not in {".h5", ".hdf5"}:
        raise GeolocError(f"--out must be an .h5 file, not {out}")
    summary = run_embedding(
        input_path, out, params.embed, params.runtime.device,
        work_root=work_dir, retry_failed=retry_failed, progress=not no_progress,
    )  # fmt: skip
    click.echo(str(summary), err=True)
