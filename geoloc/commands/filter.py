"""`geoloc filter`: turn a GBIF Darwin Core Archive into one Parquet table per dataset."""

from __future__ import annotations

import click

from geoloc.entry import params_options
from geoloc.errors import exit_on_user_error


@click.command("filter")
@click.option(
    "--archive",
    type=click.Path(dir_okay=False),
    default=None,
    help="GBIF DwC-A zip to read [default: data.archive from the params].",
)
@click.option(
    "--out",
    type=click.Path(file_okay=False),
    default=None,
    help="Folder for <dataset>.parquet and report.json [default: data/filtered, as the stage].",
)
@exit_on_user_error  # also for errors in --params / --set
@params_options
def filter_cmd(archive: str | None, out: str | None, params) -> None:
    """Filter a GBIF occurrence download into clean per-dataset tables.

    Runs the same step as the DVC stage filter. Streams occurrence.txt out of the zip (no
    extraction), keeps the rows that pass the rules in the `data:` section (country, taxon group,
    basis of record, species rank, issue flags, coordinates, uncertainty, image, duplicates,
    minimum observations per species), joins the first StillImage of multimedia.txt, and writes
    OUT/<dataset>.parquet plus OUT/report.json with the rows each rule removed, and prints
    those counts. A failed run leaves OUT as it was.
    """
    from geoloc.gbif import run_filter
    from geoloc.layout import Layout

    paths = Layout().filter(params.data.archive).with_options(archive=archive, out_dir=out)
    run_filter(params, paths)  # prints what it kept and removed
