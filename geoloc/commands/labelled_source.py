"""What the `reid`, `fewshot` and `cluster` commands share: a SOURCE of labelled samples,
options that are shortcuts for one param, and printing the metrics."""

from __future__ import annotations

import json

import click


def comma_list(ctx, option, value):
    """Click callback: `1,5` -> [1, 5] (None stays None: the param's value)."""
    if value is None:
        return None
    try:
        return [int(item) for item in value.split(",")]
    except ValueError:
        raise click.BadParameter(f"comma-separated integers expected, not {value!r}") from None


def source_argument(kind: str):
    """SOURCE, optional: without it the command runs on the stage's synthetic demo."""
    from pathlib import Path

    return click.argument(
        "source", required=False, type=click.Path(exists=True, path_type=Path), metavar=kind
    )


def load_source(source, label_column, identities, backbone, device):
    """Embeddings and labels of SOURCE (see geoloc.embed.labelled.load_labelled)."""
    from geoloc.embed.labelled import load_labelled
    from geoloc.runtime import resolve_device

    return load_labelled(
        source,
        label_column=label_column,
        identities_csv=identities,
        backbone=backbone,
        device=resolve_device(device),
    )


def emit(metrics: dict) -> None:
    """Print the metrics as JSON."""
    click.echo(json.dumps(metrics, indent=2))
