"""Options and loading shared by the commands that evaluate labelled embeddings (`reid`,
`fewshot`): SOURCE is an .h5 file, an image folder or a CSV, embedded on the fly if needed."""

from __future__ import annotations

import json

import click


def labelled_source_options(fn):
    """Add SOURCE, --label-column, --identities, --backbone, --device and --out to a command."""
    for option in reversed(
        [
            click.argument("source", type=click.Path(exists=True)),
            click.option(
                "--label-column",
                default="identity",
                show_default=True,
                help="Label column of a CSV source (or of --identities).",
            ),
            click.option(
                "--identities",
                type=click.Path(exists=True, dir_okay=False),
                help="For an .h5 source: CSV with gbif_id and label columns "
                "(default: use species_key as the label).",
            ),
            click.option(
                "--backbone",
                default="efficientnet-lite0",
                show_default=True,
                help="Image backbone for image folders/CSVs (embedded on the fly).",
            ),
            click.option("--device", default="auto", show_default=True),
            click.option(
                "--out", type=click.Path(dir_okay=False), help="Also write the metrics JSON here."
            ),
        ]
    ):
        fn = option(fn)
    return fn


def load_source(source, label_column, identities, backbone, device, image_size=None):
    """Embeddings and labels of SOURCE (see geoloc.embed.labelled.load_labelled)."""
    from geoloc.embed.labelled import load_labelled
    from geoloc.runtime import resolve_device

    return load_labelled(
        source,
        label_column=label_column,
        identities_csv=identities,
        backbone=backbone,
        image_size=image_size,
        device=resolve_device(device),
    )


def load_images(source, label_column):
    """Lazily opened images and labels of an image folder or CSV SOURCE (not an .h5 file), for
    matchers that need pixels rather than embeddings."""
    from pathlib import Path

    from geoloc.embed.labelled import list_images, open_rgb
    from geoloc.errors import GeolocError

    if Path(source).suffix.lower() in (".h5", ".hdf5"):
        raise GeolocError(f"{source}: this matcher needs images (a folder or CSV), not embeddings")
    paths, labels = list_images(source, label_column)
    return (open_rgb(path) for path in paths), labels


def emit(metrics: dict, out: str | None) -> None:
    """Print the metrics as JSON, and also write them to `out` when given."""
    from geoloc.io import write_json

    if out:
        write_json(out, metrics)
    click.echo(json.dumps(metrics, indent=2))
