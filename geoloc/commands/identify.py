"""`geoloc identify`: name the species in a folder of photos with a trained identifier."""

from __future__ import annotations

from pathlib import Path

import click

from geoloc.errors import GeolocError, exit_on_user_error


@click.command("identify")
@click.argument("images_dir", type=click.Path(path_type=Path))
@click.option(
    "--model", "model_dir", required=True, type=click.Path(path_type=Path),
    help="Model directory from train-identifier (e.g. models/identifier/plants).",
)  # fmt: skip
@click.option("--out", required=True, type=click.Path(path_type=Path), help="Results CSV.")
@click.option("--errors", type=click.Path(path_type=Path), help="[default: <out>.errors.csv]")
@click.option("--lat", type=float, help="Latitude (degrees) of all images; else EXIF GPS.")
@click.option("--lon", type=float, help="Longitude (degrees) of all images; else EXIF GPS.")
@click.option("--backbone", help="Override the image backbone recorded in the model.")
@click.option("--batch-size", default=32, show_default=True, type=click.IntRange(1))
@click.option("--device", default="auto", show_default=True, help="auto | cpu | cuda | cuda:N")
@exit_on_user_error
def identify(images_dir, model_dir, out, errors, lat, lon, backbone, batch_size, device):
    """Identify every image in IMAGES_DIR. Writes one CSV row per image (species_pred is "?"
    when rejected; method tells which route answered) and lists unreadable images in a separate
    errors CSV. With --lat/--lon (or EXIF GPS) the location prior re-weights the species."""
    from geoloc.embed.images import image_files
    from geoloc.identify import identify_images, load_backbone, load_identifier
    from geoloc.io import write_csv
    from geoloc.runtime import resolve_device

    if (lat is None) != (lon is None):
        raise GeolocError("give both --lat and --lon, or neither")
    model = load_identifier(model_dir)
    paths = image_files(images_dir)
    if not paths:
        raise GeolocError(f"no image files in {images_dir}")
    net = load_backbone(model, backbone, resolve_device(device))
    location = (lat, lon) if lat is not None else None
    results, failed = identify_images(
        paths, model, net, location=location, batch_size=batch_size, root=images_dir
    )
    _warn_outside_prior_extent(results, model)
    errors = errors or out.with_name(out.stem + ".errors.csv")
    write_csv(results, out)
    write_csv(failed, errors)
    rejected = int((results["species_pred"] == "?").sum())
    click.echo(
        f"{len(results)} images identified ({rejected} rejected) -> {out}; "
        f"{len(failed)} unreadable -> {errors}"
    )


def _warn_outside_prior_extent(results, model) -> None:
    """Warn when the location prior re-weights species at points outside the extent its
    encoder was trained on (far away, or a swapped lat/lon): its answer there is a guess."""
    import pandas as pd

    from geoloc.encoders import extent_warning

    if model.prior is None:
        return
    lat = pd.to_numeric(results["lat"], errors="coerce")
    lon = pd.to_numeric(results["lon"], errors="coerce")
    located = lat.notna() & lon.notna()
    if located.any():
        warning = extent_warning(
            model.prior.encoder, lat[located], lon[located], "the location prior's encoder"
        )
        if warning:
            click.echo(warning, err=True)
