"""`geoloc filter`: turn a GBIF Darwin Core Archive into one Parquet table per dataset."""

from __future__ import annotations

import click

from geoloc.errors import exit_on_user_error


@click.command("filter")
@click.option(
    "--archive",
    type=click.Path(dir_okay=False),
    default=None,
    help="GBIF DwC-A zip to read [default: data.archive from the params file].",
)
@click.option(
    "--out",
    type=click.Path(file_okay=False),
    default="data/filtered",
    show_default=True,
    help="Folder for <dataset>.parquet and report.json.",
)
@click.option(
    "--params",
    "params_path",
    type=click.Path(dir_okay=False),
    default="params.yaml",
    show_default=True,
    help="params.yaml whose `data:` section holds the filter rules.",
)
@exit_on_user_error
def filter_cmd(archive: str | None, out: str, params_path: str) -> None:
    """Filter a GBIF occurrence download into clean per-dataset tables.

    Streams occurrence.txt out of the zip (no extraction), keeps the rows that pass the rules in
    the `data:` section of the params file (country, taxon group, basis of record, species rank,
    issue flags, coordinates, uncertainty, image, duplicates, minimum observations per species),
    joins the first StillImage of multimedia.txt, and writes OUT/<dataset>.parquet plus
    OUT/report.json with the rows each rule removed.
    """
    from geoloc.gbif.filter import filter_archive
    from geoloc.params import load_params

    data = load_params(params_path).data
    report = filter_archive(archive or data.archive, out, data)
    for name, summary in report["datasets"].items():
        click.echo(
            f"{name}: kept {summary['kept']} of {report['rows_read']} rows "
            f"({summary['species']} species) -> {out}/{name}.parquet"
        )
