"""`geoloc summary`: the headline metrics of a pipeline run, readable in a terminal."""

from __future__ import annotations

from pathlib import Path

import click

from geoloc.errors import GeolocError, exit_on_user_error


@click.command("summary")
@click.option(
    "--results",
    type=click.Path(file_okay=False),
    default="results",
    show_default=True,
    help="The pipeline's results folder.",
)
@exit_on_user_error
def summary(results):
    """Print per dataset the training retrieval error, SDM AUC per covariate set (cross-validated
    and against the demo's true ranges) and identification accuracy, then the re-id and clustering
    demos. The full metrics are in `dvc metrics show` and results/report.html."""
    from geoloc.report.summary import summary_text

    folder = Path(results)
    if not folder.is_dir():
        raise GeolocError(f"no results folder at {folder}: run `dvc repro` first")
    click.echo(summary_text(folder) or f"no metrics under {folder} yet")
