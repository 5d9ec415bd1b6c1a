"""`geoloc train`: train a location encoder on embedding files, outside the DVC pipeline."""

from __future__ import annotations

from pathlib import Path

import click

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
    "--params",
    "params_path",
    default="params.yaml",
    show_default=True,
    help="params.yaml whose model:, train:, runtime: and logging: sections are used.",
)
@click.option(
    "--set",
    "overrides",
    multiple=True,
    metavar="KEY=VALUE",
    help="Override a model.* or train.* param, e.g. --set model.dim=256 (repeatable).",
)
@click.option(
    "--resume/--no-resume",
    default=False,
    show_default=True,
    help="Continue from OUT/checkpoints if it belongs to the same params and data.",
)
@click.option("--device", default=None, help="auto|cpu|cuda|cuda:N (default: runtime.device).")
@exit_on_user_error
def train(embeddings, out_dir, params_path, overrides, resume, device):
    """Train a location encoder contrastively against the image embeddings in EMBEDDINGS
    (HDF5 files written by the embed stage, one or several datasets pooled). Works under
    `torchrun` (DDP)."""
    import yaml

    from geoloc.errors import GeolocError
    from geoloc.params import load_params, parse_params
    from geoloc.train.run import train_from_embeddings

    params = load_params(params_path)
    raw = params.model_dump()
    for item in overrides:
        key, sep, value = item.partition("=")
        section, _, name = key.partition(".")
        if not sep or section not in ("model", "train") or not name:
            raise GeolocError(f"--set expects model.KEY=VALUE or train.KEY=VALUE, got {item!r}")
        raw[section][name] = yaml.safe_load(value)
    params = parse_params(raw, "--set")
    out = Path(out_dir)
    result = train_from_embeddings(
        list(embeddings),
        out / "encoder.pt",
        out / "metrics.json",
        out / "live",
        params.model,
        params.train,
        device=device or params.runtime.device,
        checkpoint_dir=out / "checkpoints",
        resume=resume,
        wandb=params.logging.wandb,
        name=out.name,
    )
    click.echo(" ".join(f"{k}={v:.4g}" for k, v in result.metrics.items()), err=True)
